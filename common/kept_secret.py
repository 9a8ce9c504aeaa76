"""A secret made once for this machine and kept in a file (mode 600), safe when several processes start at
the same moment: the first to link its file in place wins, and every process reads that one, never a
half-written file."""

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def kept_secret(path: Path, make: Callable[[], str]) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(make())
            os.link(draft, path)  # atomic: fails if another process linked its own first
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return path.read_text().strip()
