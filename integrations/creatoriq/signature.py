"""CreatorIQ webhook signatures.

CreatorIQ signs a delivery with a plain hash (not an HMAC) of the normalized payload JSON, the timestamp
and the receiver's API key: ``X-Signature`` is the MD5 and ``X-Signature-SHA256`` (optional) the SHA-256,
both in hex; the timestamp travels in ``x-timestamp``. Normalized here means compact JSON with sorted keys.
"""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from common.constant_time import equal

TOLERANCE_SECONDS = 15 * 60  # CreatorIQ retries twice at one-minute intervals; allow clock drift too


class InvalidSignature(Exception):
    pass


def normalized(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _material(payload: Any, timestamp: str, api_key: str) -> bytes:
    return (normalized(payload) + timestamp + api_key).encode()


def sign(payload: Any, timestamp: str, api_key: str) -> dict[str, str]:
    """The headers CreatorIQ sends with a delivery of ``payload``."""
    material = _material(payload, timestamp, api_key)
    return {
        "X-Signature": hashlib.md5(material).hexdigest(),
        "X-Signature-SHA256": hashlib.sha256(material).hexdigest(),
        "x-timestamp": timestamp,
    }


def _seconds(timestamp: str) -> float:
    value = float(timestamp)
    return value / 1000 if value > 10**11 else value  # milliseconds or seconds


def verify(payload: Any, headers: Mapping[str, str], api_key: str, now: float) -> None:
    """Raises InvalidSignature unless every signature sent matches and the timestamp is recent."""
    lowered = {name.lower(): value for name, value in headers.items()}
    timestamp = lowered.get("x-timestamp")
    md5_sent, sha_sent = lowered.get("x-signature"), lowered.get("x-signature-sha256")
    if not timestamp or not md5_sent:
        raise InvalidSignature("missing X-Signature or x-timestamp header")
    try:
        age = abs(now - _seconds(timestamp))
    except ValueError:
        raise InvalidSignature("x-timestamp is not a number") from None
    if not age <= TOLERANCE_SECONDS:  # NaN compares false both ways: it is never "recent"
        raise InvalidSignature("x-timestamp is too far from now")
    material = _material(payload, timestamp, api_key)
    if not equal(hashlib.md5(material).hexdigest(), md5_sent.lower()):
        raise InvalidSignature("X-Signature does not match")
    if sha_sent is not None and not equal(hashlib.sha256(material).hexdigest(), sha_sent.lower()):
        raise InvalidSignature("X-Signature-SHA256 does not match")
