"""CreatorIQ allows 5 requests a second per API key, whatever number of our workers call it: three worker
processes sharing the database's pace (db/pace.py) never make the fake CreatorIQ answer 429, and without it
three processes go over."""

import secrets
import subprocess
import sys
import time

from sqlalchemy.orm import Session, sessionmaker

from db.pace import take_slot
from tests.fake_creatoriq import FakeCreatorIQ
from tests.support import ROOT

PROCESSES, EACH = 3, 6


def _three_workers(database_url: str, creatoriq: FakeCreatorIQ, api_key: str, script: str) -> float:
    started = time.monotonic()
    workers = [
        subprocess.Popen([sys.executable, script, database_url, creatoriq.url, api_key, str(EACH)], cwd=ROOT)
        for _ in range(PROCESSES)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0] * PROCESSES
    return time.monotonic() - started


def test_three_worker_processes_share_five_requests_a_second(
    database_url: str, creatoriq: FakeCreatorIQ
) -> None:
    account = creatoriq.account(f"ciq_{secrets.token_hex(16)}")
    account.add_campaign(100, "Campaign", start="2030-01-01", end="2030-02-01")
    elapsed = _three_workers(database_url, creatoriq, account.api_key, "tests/pace_client.py")
    assert account.requests == PROCESSES * EACH and account.too_fast == 0  # CreatorIQ never said 429
    assert elapsed >= (PROCESSES * EACH - 5) / 5  # 18 requests at 5/s: at least 2.6 s


def test_without_the_shared_pace_three_processes_go_over(creatoriq: FakeCreatorIQ, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What the shared pace prevents: each process alone keeps to 5/s, together they send 15/s."""
    account = creatoriq.account(f"ciq_{secrets.token_hex(16)}")
    account.add_campaign(100, "Campaign", start="2030-01-01", end="2030-02-01")
    script = tmp_path / "local_limit.py"
    script.write_text(
        "import sys\nfrom integrations.creatoriq.client import CreatorIQClient\n"
        "with CreatorIQClient(sys.argv[3], sys.argv[2], attempts=10) as client:\n"
        "    for _ in range(int(sys.argv[4])):\n        client.campaign(100)\n"
    )
    _three_workers("unused", creatoriq, account.api_key, str(script))
    assert account.too_fast > 0


def test_slots_are_spaced_by_the_interval(session_factory: sessionmaker[Session]) -> None:
    bucket = f"test:{secrets.token_hex(8)}"
    with session_factory() as session:
        waits = [take_slot(session, bucket, 230, now_ms=1_000_000) for _ in range(4)]
        later = take_slot(session, bucket, 230, now_ms=2_000_000)  # idle since: the slot is now
    assert waits == [0.0, 0.23, 0.46, 0.69] and later == 0.0
