"""Signing webhook deliveries, and verifying them on the receiving side.

This module depends only on the standard library: a platform can copy it as it is.

Each delivery carries ``ten99policy-signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is the
HMAC-SHA256 of ``"<t>.<raw request body>"`` keyed with the endpoint's ``whsec_…`` secret. Receivers should
verify the signature over the *raw* body (before parsing JSON) and refuse old timestamps, which stops
replays of a captured delivery.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "ten99policy-signature"
EVENT_ID_HEADER = "ten99policy-event-id"
DEFAULT_TOLERANCE = 300


class SignatureVerificationError(ValueError):
    """The delivery was not signed with this secret, or is too old."""


def compute_signature(secret: str, timestamp: int, payload: bytes) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, payload: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={compute_signature(secret, timestamp, payload)}"


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
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureVerificationError("signature does not match the payload and secret")
    current = int(time.time()) if now is None else now
    if tolerance and abs(current - timestamp) > tolerance:
        raise SignatureVerificationError(f"timestamp is more than {tolerance} seconds away from now")
    return timestamp
