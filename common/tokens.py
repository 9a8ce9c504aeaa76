"""Link tokens as they are stored: only a SHA-256 of the token, so a leaked table opens nothing."""

import hashlib


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
