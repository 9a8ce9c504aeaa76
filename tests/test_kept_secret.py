"""Several API processes starting at once on a fresh data folder agree on one secret (the CSRF and page
signing key, the encryption key), and none reads a half-written file or fails because another won."""

import secrets
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from common.kept_secret import kept_secret


def test_processes_starting_together_keep_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    with ProcessPoolExecutor(8) as pool:
        found = set(pool.map(kept_secret, [path] * 48, [secrets.token_urlsafe] * 48))
    assert len(found) == 1 and found == {path.read_text()}
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no drafts left behind
    assert path.stat().st_mode & 0o777 == 0o600
