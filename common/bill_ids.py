"""Bill ids have one shape: ``bl_`` and 26 Crockford base32 characters, a ULID's form (``bl_01M95J…``).

A bill made outside a workflow gets a fresh ULID (common/ids.py). A bill a workflow issues needs an id that
is the same every time the step runs again (a retried activity, a replayed or reset workflow finds the bill it
already issued): ``derived_bill_id`` makes it from the step's idempotency key (pure: no clock, no I/O)."""

import hashlib

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LENGTH = 26


def crockford(value: int) -> str:
    """A 128-bit number as a ULID's 26 characters (the first is 0-7, as in any ULID)."""
    chars = []
    for _ in range(ULID_LENGTH):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def derived_bill_id(idempotency_key: str) -> str:
    """The bill id for a workflow's billing step: its key's SHA-256, 128 bits of it in a ULID's form."""
    digest = hashlib.sha256(f"bill:{idempotency_key}".encode()).digest()
    return f"bl_{crockford(int.from_bytes(digest[:16], 'big'))}"
