"""API keys: the environments they open (by their prefix), and when one works: until it is revoked, and, once
rolled, until its overlap ends."""

from enum import StrEnum

SANDBOX, PRODUCTION = "sandbox", "production"
KEY_PREFIXES = {SANDBOX: "t9k_test_", PRODUCTION: "t9k_live_"}


class KeyStatus(StrEnum):
    ACTIVE = "active"
    EXPIRING = "expiring"  # rolled: it works until its ``expires_at``
    EXPIRED = "expired"
    REVOKED = "revoked"


def key_status(revoked_at: int | None, expires_at: int | None, at: int) -> KeyStatus:
    """Whether a key works, from when it was revoked or set to expire (a rolled key expires)."""
    if revoked_at is not None:
        return KeyStatus.REVOKED
    if expires_at is not None:
        return KeyStatus.EXPIRING if at < expires_at else KeyStatus.EXPIRED
    return KeyStatus.ACTIVE
