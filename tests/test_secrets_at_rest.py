"""CreatorIQ API keys and webhook signing secrets are stored encrypted (Fernet, keys from
GIGCOVER_ENCRYPTION_KEYS): absent in plain text from the database and its file, still usable by the API and
the worker; rows stored in plain text before are encrypted by the migration; ``manage.py rotate-secrets``
re-encrypts under a new key while the old one still decrypts; unusable keys stop the API from starting."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from common.encryption import PREFIX, SecretBox, UnreadableSecret, box, new_key
from common.settings import Settings
from common.startup import SettingsError, check_settings
from db.engine import make_engine, make_session_factory
from db.migrate import ROOT as DB_ROOT
from db.models import CreatorIQConnection, WebhookEndpoint
from tests.fake_creatoriq import FakeCreatorIQ
from tests.support import ROOT, Org


def _raw(factory: sessionmaker[Session], sql: str, **params: object) -> list[tuple[object, ...]]:
    """Rows as stored, not decrypted."""
    with factory() as session:
        return [tuple(row) for row in session.execute(text(sql), params)]


def _database_files(database_url: str) -> bytes:
    """The SQLite file and its write-ahead log, as a disk or a backup holds them. Read by another process:
    closing a file this process opened would drop the POSIX locks its own SQLite connections hold on it."""
    path = Path(database_url.removeprefix("sqlite:///"))
    return subprocess.run(["cat", str(path), f"{path}-wal"], capture_output=True, check=False).stdout


def test_creatoriq_keys_and_webhook_secrets_are_encrypted_in_the_database(
    api_url: str,
    org: Org,
    creatoriq: FakeCreatorIQ,
    session_factory: sessionmaker[Session],
    database_url: str,
) -> None:
    creatoriq_key = f"ciq-at-rest-{org.id}"
    creatoriq.account(creatoriq_key)  # an account of the fake CreatorIQ, so the key checks out
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        saved = http.put("/organization/creatoriq", json={"api_key": creatoriq_key})
        assert saved.status_code == 200, saved.text
        assert saved.json()["api_key"] == "…" + creatoriq_key[-4:]
        endpoint = http.post("/webhook_endpoints", json={"url": "https://hooks.platform.example/e"}).json()
        secret = endpoint["secret"]
        assert http.get(f"/webhook_endpoints/{endpoint['id']}").json()["secret"] == secret  # usable

    [(stored_key,)] = _raw(
        session_factory, "SELECT api_key FROM creatoriq_connections WHERE organization_id = :o", o=org.id
    )
    [(stored_secret,)] = _raw(
        session_factory, "SELECT secret FROM webhook_endpoints WHERE id = :i", i=endpoint["id"]
    )
    for stored, plain in ((stored_key, creatoriq_key), (stored_secret, secret)):
        assert isinstance(stored, str) and stored.startswith(PREFIX) and plain not in stored
        assert box().open(stored) == plain
    if database_url.startswith("sqlite"):
        on_disk = _database_files(database_url)
        assert stored_secret.encode() in on_disk  # type: ignore[union-attr]
        assert creatoriq_key.encode() not in on_disk and secret.encode() not in on_disk

    with session_factory() as session:  # code reads and writes plain text
        connection = session.scalar(
            select(CreatorIQConnection).where(CreatorIQConnection.organization_id == org.id)
        )
        assert connection is not None and connection.api_key == creatoriq_key


def _alembic(url: str) -> Config:
    config = Config(str(DB_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    return config


def _legacy_database(tmp_path: Path) -> tuple[str, sessionmaker[Session]]:
    """A database as release 0008 left it: a webhook secret and a CreatorIQ key in plain text."""
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    command.upgrade(_alembic(url), "0008")
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        session.execute(
            text(
                "INSERT INTO organizations (id, name, withhold_premium, created) "
                "VALUES ('org_old', 'Old', 0, 1)"
            )
        )
        session.execute(
            text(
                "INSERT INTO api_keys (organization_id, environment, key_hash, key_hint, created) "
                "VALUES ('org_old', 'sandbox', 'ab', 't9k_test_…abcd', 1)"
            )
        )
        session.execute(
            text(
                "INSERT INTO webhook_endpoints (id, organization_id, environment, created, url, events, "
                "secret, status) VALUES ('whe_old', 'org_old', 'sandbox', 1, 'https://x.example', '[\"*\"]', "
                "'whsec_plainplainplain', 'enabled')"
            )
        )
        session.execute(
            text(
                "INSERT INTO creatoriq_connections (id, organization_id, environment, created, api_key, "
                "api_key_hint, category_code, coverage_type, webhooks_subscribed) VALUES ('ciqc_old', "
                "'org_old', 'sandbox', 1, 'ciq-plain-key-1234', '…1234', 'jc_x', '[\"general\"]', 0)"
            )
        )
        session.commit()
    return url, factory


def test_the_migration_encrypts_what_was_stored_in_plain_text(tmp_path: Path) -> None:
    url, factory = _legacy_database(tmp_path)
    command.upgrade(_alembic(url), "head")
    [(secret,)] = _raw(factory, "SELECT secret FROM webhook_endpoints")
    [(key,)] = _raw(factory, "SELECT api_key FROM creatoriq_connections")
    [(public_id, name)] = _raw(factory, "SELECT public_id, name FROM api_keys")
    assert str(secret).startswith(PREFIX) and box().open(str(secret)) == "whsec_plainplainplain"
    assert str(key).startswith(PREFIX) and box().open(str(key)) == "ciq-plain-key-1234"
    assert str(public_id).startswith("ak_") and name == ""
    with factory() as session:
        endpoint = session.scalar(select(WebhookEndpoint))
        assert endpoint is not None and endpoint.signing_secrets(0) == ["whsec_plainplainplain"]

    command.downgrade(_alembic(url), "0008")  # and back: plain text again, as 0008 reads it
    assert _raw(factory, "SELECT secret FROM webhook_endpoints") == [("whsec_plainplainplain",)]
    assert _raw(factory, "SELECT api_key FROM creatoriq_connections") == [("ciq-plain-key-1234",)]


def _manage(url: str, keys: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIGCOVER_DATABASE_URL": url, "GIGCOVER_ENCRYPTION_KEYS": keys}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_rotate_secrets_re_encrypts_under_a_new_key(tmp_path: Path) -> None:
    old = os.environ["GIGCOVER_ENCRYPTION_KEYS"]
    url, factory = _legacy_database(tmp_path)
    assert _manage(url, old, "migrate").returncode == 0  # encrypted under the run's key
    with factory() as session:  # a row an older release wrote in plain text after the migration
        session.execute(text("UPDATE creatoriq_connections SET api_key = 'ciq-written-late-9999'"))
        session.commit()

    made = _manage(url, old, "new-encryption-key")
    new = made.stdout.strip()
    assert made.returncode == 0 and SecretBox([new]).seal("x")  # a usable Fernet key
    rotated = _manage(url, f"{new},{old}", "rotate-secrets")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 2 stored secrets" in rotated.stdout

    [(secret,)] = _raw(factory, "SELECT secret FROM webhook_endpoints")
    [(key,)] = _raw(factory, "SELECT api_key FROM creatoriq_connections")
    assert SecretBox([new]).open(str(secret)) == "whsec_plainplainplain"
    assert SecretBox([new]).open(str(key)) == "ciq-written-late-9999"
    with pytest.raises(UnreadableSecret):
        SecretBox([old]).open(str(secret))  # the old key can be dropped now

    # Dropping a key before rotating: the secrets it encrypted cannot be read, and the command says why.
    lost = _manage(url, new_key(), "rotate-secrets")
    assert lost.returncode != 0 and "GIGCOVER_ENCRYPTION_KEYS" in lost.stderr
    assert _raw(factory, "SELECT secret FROM webhook_endpoints") == [(secret,)]


def test_a_malformed_encryption_key_stops_the_api_from_starting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="GIGCOVER_ENCRYPTION_KEYS: key 2 is not a Fernet key"):
        check_settings(Settings(_env_file=None, encryption_keys=f"{new_key()},not-a-key"))
    check_settings(Settings(_env_file=None, encryption_keys=f"{new_key()}, {new_key()}"))
    env = {**os.environ, "GIGCOVER_ENCRYPTION_KEYS": "short", "GIGCOVER_DATA_DIR": str(tmp_path)}
    started = subprocess.run(
        [sys.executable, "-m", "api.serve", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1 or started.returncode == 2
    assert "refusing to start: GIGCOVER_ENCRYPTION_KEYS: key 1 is not a Fernet key" in started.stderr


def test_without_the_setting_a_key_is_made_once_and_kept(tmp_path: Path) -> None:
    from common.encryption import box_for

    settings = Settings(_env_file=None, encryption_keys="", data_dir=tmp_path)
    sealed = box_for(settings).seal("whsec_local")
    kept = tmp_path / "encryption_key"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert SecretBox([kept.read_text().strip()]).open(sealed) == "whsec_local"
