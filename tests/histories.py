"""Recorded workflow histories: ``GIGCOVER_RECORD_HISTORIES=1 make test`` (re)writes them from the
scenario tests; ``test_replay.py`` replays every file so a change that breaks running workflows fails."""

import os
from pathlib import Path

from temporalio.client import WorkflowHandle

HISTORIES = Path(__file__).parent / "histories"


async def keep_history(handle: WorkflowHandle, scenario: str) -> None:
    if os.environ.get("GIGCOVER_RECORD_HISTORIES"):
        history = await handle.fetch_history()
        (HISTORIES / f"{scenario}.json").write_text(history.to_json())
