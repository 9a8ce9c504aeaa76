"""`make test`'s pytest run. With PostgreSQL configured (GIGCOVER_TEST_POSTGRES_URL), the suite's two
database halves run as two pytest processes side by side: each has its own servers, workers and databases,
and most of a test's time is spent waiting on timers and peers, so two halves on two cores take little
more than the longer one alone. Arguments go to both; with ``-k`` of your own, one process runs them."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POSTGRES_HALF = "postgresql"
SQLITE_HALF = "not postgresql"


def pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args]


def main(args: list[str]) -> int:
    if not os.environ.get("GIGCOVER_TEST_POSTGRES_URL") or "-k" in args:
        return subprocess.call(pytest(*args))
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("w+", prefix="gigcover-postgres-half-", suffix=".log") as log:
        postgres = subprocess.Popen(pytest("-k", POSTGRES_HALF, *args), stdout=log, stderr=subprocess.STDOUT)
        print(f"PostgreSQL half running beside this one (its output follows at the end: {log.name})")
        try:
            sqlite_code = subprocess.call(pytest("-k", SQLITE_HALF, *args))
            postgres_code = postgres.wait()
        finally:
            if postgres.poll() is None:
                postgres.kill()
        print(f"\n===== PostgreSQL half (exit {postgres_code}) =====", flush=True)
        sys.stdout.write(Path(log.name).read_text(errors="replace"))
    print(
        f"\nBoth halves: {time.monotonic() - started:.0f} s; SQLite exit {sqlite_code}, PostgreSQL exit "
        f"{postgres_code}",
        flush=True,
    )
    return sqlite_code or postgres_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
