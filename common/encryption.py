"""Third-party secrets we must be able to use again (CreatorIQ API keys, webhook signing secrets) are stored
encrypted, with Fernet (AES-128-CBC and HMAC-SHA256, from the maintained ``cryptography`` package).

The keys come from ``GIGCOVER_ENCRYPTION_KEYS`` (comma-separated): the first encrypts, every one decrypts
(``MultiFernet``), so a key can be rotated without a moment when stored secrets cannot be read: put the new
key first, keep the old one after it, restart, run ``manage.py rotate-secrets`` (which re-encrypts every
stored secret under the first key), then drop the old key. Empty, a key is made once and kept in
``data_dir/encryption_key``, readable by its owner only (one machine; set the setting when several share a
database).

A stored value is ``fernet:`` and a Fernet token. A value without the prefix is plain text left by a release
before migration 0009 (which encrypted every row it found): it is still read, and ``rotate-secrets``
encrypts it.
"""

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from common.kept_secret import kept_secret
from common.settings import Settings, get_settings

PREFIX = "fernet:"
KEY_FILE = "encryption_key"


class UnreadableSecret(RuntimeError):
    """A stored secret that none of the configured keys decrypts (its key was dropped too soon)."""


def new_key() -> str:
    """A fresh key for GIGCOVER_ENCRYPTION_KEYS (32 random bytes, url-safe base64)."""
    return Fernet.generate_key().decode()


class SecretBox:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, value: str) -> str:
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # plain text from before encryption; manage.py rotate-secrets encrypts it
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise UnreadableSecret(
                "a stored secret was encrypted with a key that is not in GIGCOVER_ENCRYPTION_KEYS "
                "(keep an old key there until manage.py rotate-secrets has run)"
            ) from None

    def reseal(self, stored: str) -> str:
        """The same secret encrypted under the first key (plain text gets encrypted)."""
        if not stored.startswith(PREFIX):
            return self.seal(stored)
        try:
            return PREFIX + self._fernet.rotate(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise UnreadableSecret(
                "a stored secret was encrypted with a key that is not in GIGCOVER_ENCRYPTION_KEYS"
            ) from None


def _configured_keys(settings: Settings) -> list[str]:
    return [key.strip() for key in settings.encryption_keys.split(",") if key.strip()]


def _kept_key(data_dir: Path) -> str:
    return kept_secret(data_dir / KEY_FILE, new_key)


def key_problems(settings: Settings) -> list[str]:
    problems = []
    for position, key in enumerate(_configured_keys(settings), start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            problems.append(
                f"GIGCOVER_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 bytes in url-safe "
                "base64; make one with `python manage.py new-encryption-key`)"
            )
    return problems


@lru_cache(maxsize=8)
def _box(keys: str, data_dir: Path) -> SecretBox:
    configured = [key.strip() for key in keys.split(",") if key.strip()]
    return SecretBox(configured or [_kept_key(data_dir)])


def box_for(settings: Settings) -> SecretBox:
    return _box(settings.encryption_keys, settings.data_dir.resolve())


_installed: list[SecretBox] = []


def install(settings: Settings) -> SecretBox:
    """Make ``settings``' keys the ones the database columns use in this process (the API, the worker and
    manage.py call it when they start; a process that never does uses get_settings())."""
    found = box_for(settings)
    _installed[:] = [found]
    return found


def box() -> SecretBox:
    return _installed[0] if _installed else install(get_settings())
