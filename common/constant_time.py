"""Comparing a secret with what a caller sent, in constant time, whatever the caller sent."""

import hmac


def equal(expected: str, sent: str) -> bool:
    """Whether ``sent`` is ``expected``. ``hmac.compare_digest`` raises on text with non-ASCII characters
    (a hostile token, signature or cookie would answer 500); as bytes every value compares."""
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), sent.encode("utf-8", "surrogatepass")
    )
