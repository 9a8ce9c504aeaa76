"""Runs last (file order): after the whole suite, no card number and no full API key is anywhere in the
database or in what the service logged. (Card numbers go from the browser to Stripe, never to us; only
hashes of API keys are stored.) CreatorIQ keys are stored, in their own table only, and never logged."""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Base, CreatorIQConnection
from tests.fake_creatoriq import FakeCreatorIQ
from tests.support import ISSUED_KEYS

TEST_CARDS = (
    "4242424242424242",
    "4546381219393284",
    "5555555555554444",
    "6011111111111117",
    "378282246310005",
)


def _database_text(factory: sessionmaker[Session], leave_out: tuple[str, ...] = ()) -> str:
    parts: list[str] = []
    with factory() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in leave_out:
                continue
            parts.extend(repr(tuple(row)) for row in session.execute(select(table)))
    return "\n".join(parts)


def test_no_card_numbers_or_api_keys_in_the_database_or_logs(
    session_factory: sessionmaker[Session], log_file: Path, creatoriq: FakeCreatorIQ
) -> None:
    database, logs = _database_text(session_factory), log_file.read_text(errors="replace")
    assert len(database) > 10_000 and len(ISSUED_KEYS) > 20  # the suite really ran and left data behind
    for secret in (*TEST_CARDS, *ISSUED_KEYS):
        assert secret not in database, f"{secret[:12]}… is stored in the database"
        assert secret not in logs, f"{secret[:12]}… was logged"
    assert '"cvc"' not in database and "cvc=" not in logs
    elsewhere = _database_text(session_factory, leave_out=(CreatorIQConnection.__tablename__,))
    assert len(creatoriq.accounts) > 5
    for creatoriq_key in creatoriq.accounts:
        assert creatoriq_key not in elsewhere, f"{creatoriq_key[:8]}… is stored outside its connection"
        assert creatoriq_key not in logs, f"{creatoriq_key[:8]}… was logged"
