"""Runs last (file order): after the whole suite, no card number, no full API key, no CreatorIQ API key and
no webhook signing secret is anywhere in the database (as stored, and in the SQLite file itself) or in what
the service logged; no contractor's tax id is in the database as stored, its file, the logs or the
document store (the files of certificates, bills and uploaded contractor CSVs on disk); and no stored email
keeps a capability link: no application, card, file, invitation or reset link, and none of the tokens the
SMTP server received, is in the readable copy of any email recorded by the suite; and no log of the run
(the access log included) holds a capability link's token. (Card numbers go from the browser to Stripe,
never to us; only hashes of API keys are stored; CreatorIQ keys, webhook secrets and tax ids are stored
encrypted, see common/encryption.py; an uploaded CSV is deleted once imported.)"""

import re
import subprocess
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from common.encryption import PREFIX
from common.settings import Settings
from db.models import Base, Contractor, WebhookEndpoint
from notifications.catalog import WITHHELD
from tests.fake_creatoriq import FakeCreatorIQ
from tests.support import ISSUED_KEYS, SmtpSink

TEST_CARDS = (
    "4242424242424242",
    "4546381219393284",
    "5555555555554444",
    "6011111111111117",
    "378282246310005",
)


def _database_text(factory: sessionmaker[Session]) -> str:
    """Every row of every table as stored (plain SQL: nothing decrypted on the way)."""
    parts: list[str] = []
    with factory() as session:
        for table in Base.metadata.sorted_tables:
            parts.extend(repr(tuple(row)) for row in session.execute(text(f'SELECT * FROM "{table.name}"')))
    return "\n".join(parts)


def _database_file(database_url: str) -> bytes:
    """The SQLite file and its write-ahead log, as a disk or a backup holds them."""
    if not database_url.startswith("sqlite:///"):
        return b""
    path = Path(database_url.removeprefix("sqlite:///"))
    # Read by another process: closing a file this process opened would drop the POSIX locks its own
    # SQLite connections hold on it.
    return subprocess.run(["cat", str(path), f"{path}-wal"], capture_output=True, check=False).stdout


RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \w+ (\S+) ", re.MULTILINE)


def _service_logs(logs: str) -> str:
    """The log without the records of the official client the tests drive: it logs the API's answers at
    DEBUG, and a webhook endpoint's answer shows its secret to the platform, whose secret it is."""
    starts = [(m.start(), m.group(1)) for m in RECORD.finditer(logs)] + [(len(logs), "")]
    return "".join(
        logs[start:end] for (start, name), (end, _) in pairwise(starts) if not name.startswith("ten99policy")
    )


RECORD_LEVEL = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) (\S+) ", re.MULTILINE)


def _as_production_logs(logs: str) -> str:
    """What the service logs in production (INFO and above: the suite logs DEBUG, where the Temporal SDK dumps
    activity payloads), without the records of the clients the tests drive as browsers and platforms (httpx
    names each URL it opens, ten99policy each answer)."""
    starts = [(m.start(), m.group(1), m.group(2)) for m in RECORD_LEVEL.finditer(logs)]
    starts.append((len(logs), "", ""))
    return "".join(
        logs[start:end]
        for (start, level, name), (end, _, _) in pairwise(starts)
        if level != "DEBUG" and not name.startswith(("ten99policy", "httpx"))
    )


# A capability path (application, card, document, reset or invitation link) with its token, not a template.
CAPABILITY_LINK = re.compile(
    r"(?:^|[\s\"'(=]|://[^/\s\"']+)"  # where a path starts: at a space or quote, or after a URL's host
    r"(/(?:apply|cards|certificates|files|my/link|dashboard/reset|dashboard/invitation)/(?!\{|finished\b)[A-Za-z0-9_-][^\s\"'?]*)",
    re.MULTILINE,
)


def _logs_the_stack_wrote(base: Path) -> dict[Path, str]:
    """Every log file a test's stack wrote (make run's .data/logs/, an API process's output)."""
    return {path: path.read_text(errors="replace") for path in base.rglob("*.log") if path.is_file()}


def _webhook_secrets(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        endpoints = session.scalars(select(WebhookEndpoint)).all()
        return [s for e in endpoints for s in (e.secret, e.previous_secret) if s]


def test_no_card_numbers_or_api_keys_in_the_database_or_logs(
    session_factory: sessionmaker[Session], log_file: Path, creatoriq: FakeCreatorIQ, database_url: str
) -> None:
    database, logs = _database_text(session_factory), log_file.read_text(errors="replace")
    on_disk = _database_file(database_url)
    assert len(database) > 10_000 and len(ISSUED_KEYS) > 20  # the suite really ran and left data behind
    for secret in (*TEST_CARDS, *ISSUED_KEYS):
        assert secret not in database, f"{secret[:12]}… is stored in the database"
        assert secret not in logs, f"{secret[:12]}… was logged"
    assert '"cvc"' not in database and "cvc=" not in logs
    assert len(creatoriq.accounts) > 5
    for creatoriq_key in creatoriq.accounts:
        assert creatoriq_key not in database, f"{creatoriq_key[:8]}… is stored in plain text"
        assert creatoriq_key.encode() not in on_disk, f"{creatoriq_key[:8]}… is in the database file"
        assert creatoriq_key not in logs, f"{creatoriq_key[:8]}… was logged"
    service_logs = _service_logs(logs)
    assert len(service_logs) > len(logs) / 10
    webhook_secrets = _webhook_secrets(session_factory)
    assert len(webhook_secrets) > 5 and all(s.startswith("whsec_") for s in webhook_secrets)
    for secret in webhook_secrets:
        assert secret not in database, f"{secret[:10]}… is stored in plain text"
        assert secret.encode() not in on_disk, f"{secret[:10]}… is in the database file"
        assert secret not in service_logs, f"{secret[:10]}… was logged"


# A capability link as emails carry one: the path, then the token (or, for old card links, an id).
EMAILED_LINK = re.compile(
    r"/(?:apply|cards|certificates|files|dashboard/invitation|dashboard/reset)/([A-Za-z0-9_\-]{8,})"
)


def _mailed_tokens(smtp_sink: SmtpSink) -> set[str]:
    """The tokens of every capability link the suite's SMTP server received."""
    found = set()
    for message in list(smtp_sink.messages):
        for part in ("plain", "html"):
            body = message.get_body(preferencelist=(part,))  # type: ignore[attr-defined]
            if body is not None:
                found.update(EMAILED_LINK.findall(body.get_content()))
    return found


def test_no_stored_email_keeps_a_capability_link(
    session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    with session_factory() as session:
        stored = session.execute(
            text("SELECT kind, subject, text_body, html_body, sealed_message FROM email_messages")
        ).all()
    readable = "\n".join(
        f"{subject}\n{text_body}\n{html_body}" for _, subject, text_body, html_body, _ in stored
    )
    found = EMAILED_LINK.search(readable)
    assert found is None, f"a stored email keeps the link …{found.group(0)[:24] if found else ''}"
    assert WITHHELD in readable  # the suite did record emails with links
    mailed = _mailed_tokens(smtp_sink)
    assert len(mailed) > 3  # the recipients got their links
    for token in mailed:
        assert token not in readable, f"{token[:6]}… (mailed) is in a stored email"
    for kind, *_, sealed in stored:
        assert sealed is None or sealed.startswith("fernet:"), (
            f"a {kind} email's message is kept in plain text"
        )


def _tax_ids(factory: sessionmaker[Session]) -> list[str]:
    """Every contractor's tax id, as the code reads it (decrypted)."""
    with factory() as session:
        held = session.scalars(
            select(Contractor.tax_identification).where(Contractor.tax_identification.is_not(None))
        )
        return sorted({value for value in held if value})


def _document_store(settings: Settings) -> bytes:
    """Every file of the document store, as the disk holds it."""
    root = settings.data_dir / "documents"
    return b"\n".join(path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file())


def test_no_tax_id_in_the_database_the_document_store_or_logs(
    session_factory: sessionmaker[Session], log_file: Path, settings: Settings, database_url: str
) -> None:
    database, logs = _database_text(session_factory), _service_logs(log_file.read_text(errors="replace"))
    on_disk, documents = _database_file(database_url), _document_store(settings)
    tax_ids = _tax_ids(session_factory)
    assert len(tax_ids) >= 3  # the suite made contractors with tax ids (through the API and uploaded CSVs)
    with session_factory() as session:
        stored = session.execute(
            text("SELECT tax_identification FROM contractors WHERE tax_identification IS NOT NULL")
        ).scalars()
        assert all(value.startswith(PREFIX) for value in stored), "a tax id is stored in plain text"
    for tax_id in tax_ids:
        assert tax_id not in database, f"…{tax_id[-4:]} is stored in plain text"
        assert tax_id.encode() not in on_disk, f"…{tax_id[-4:]} is in the database file"
        assert tax_id.encode() not in documents, f"…{tax_id[-4:]} is in the document store"
        assert tax_id not in logs, f"…{tax_id[-4:]} was logged"


def test_no_application_card_or_account_link_in_any_log(
    log_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The access log (every request the tests' API answered) and every other log names a link's route,
    never its token: whoever reads the logs gets no contractor's application or card, no member's account."""
    logs = _as_production_logs(log_file.read_text(errors="replace"))
    assert "gigcover.access" in logs, "the API's access log is part of what the run logged"
    stack_logs = _logs_the_stack_wrote(tmp_path_factory.getbasetemp())
    written = {**stack_logs, log_file: logs}  # the run's own log as production would have written it
    for path, content in written.items():
        leaked = sorted(set(CAPABILITY_LINK.findall(content)))
        assert not leaked, f"{path.name} holds links with their tokens: {leaked[:5]}"
