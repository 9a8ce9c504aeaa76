"""Signing webhook deliveries, and verifying them on the receiving side.

This module depends only on the standard library: a platform can copy it as it is.

Each delivery carries ``ten99policy-signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is the
HMAC-SHA256 of ``"<t>.<raw request body>"`` keyed with the endpoint's ``whsec_…`` secret. Receivers should
verify the signature over the *raw* body (before parsing JSON) and refuse old timestamps, which stops
replays of a captured delivery.

When an endpoint's secret is rolled, the old secret keeps signing beside the new one for a while: the header
then carries one ``v1`` per secret (``t=…,v1=<new>,v1=<old>``), so a receiver that still has the old secret,
or already has the new one, accepts the delivery. ``verify_signature`` accepts any matching ``v1``.
"""

import hashlib
import hmac
import time
from collections.abc import Sequence

from common.constant_time import equal

SIGNATURE_HEADER = "ten99policy-signature"
EVENT_ID_HEADER = "ten99policy-event-id"
DEFAULT_TOLERANCE = 300


class SignatureVerificationError(ValueError):
    """The delivery was not signed with this secret, or is too old."""


def compute_signature(secret: str, timestamp: int, payload: bytes) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str | Sequence[str], payload: bytes, timestamp: int | None = None) -> str:
    """``secret``: the endpoint's secret, or its secrets during a rotation (one ``v1`` each, in order)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    secrets = [secret] if isinstance(secret, str) else list(secret)
    signatures = ",".join(f"v1={compute_signature(s, timestamp, payload)}" for s in secrets)
    return f"t={timestamp},{signatures}"


def verify_signature(
    payload: bytes | str,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: int | None = None,
) -> int:
    """Check a delivery; returns its timestamp, or raises :class:`SignatureVerificationError`.

    ``payload`` is the raw request body, ``header`` the value of the ``ten99policy-signature`` header.
    Several ``v1`` values are accepted (one matching is enough), as during a secret rotation.
    """
    if isinstance(payload, str):
        payload = payload.encode()
    if not header:
        raise SignatureVerificationError("no ten99policy-signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureVerificationError("malformed ten99policy-signature header")
    expected = compute_signature(secret, timestamp, payload)
    if not any(equal(expected, candidate) for candidate in candidates):
        raise SignatureVerificationError("signature does not match the payload and secret")
    current = int(time.time()) if now is None else now
    if tolerance and abs(current - timestamp) > tolerance:
        raise SignatureVerificationError(f"timestamp is more than {tolerance} seconds away from now")
    return timestamp
