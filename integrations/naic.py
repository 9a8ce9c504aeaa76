"""The NAIC directory: NAIC company code → the insurer's legal name, from ``data/naic_insurers.csv``
(where its sources are named). Read once per process; the review (domain.certificate_review) takes it as
a plain mapping and compares names with ``same_insurer``, which tolerates "Insurance", "Company", "Co."."""

import csv
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

from domain.certificate_review import normalise_naic

DIRECTORY_FILE = Path(__file__).resolve().parent.parent / "data" / "naic_insurers.csv"


def read_directory(path: Path) -> dict[str, str]:
    """Rows of ``code,name`` after ``#`` comment lines; a row whose code is not a NAIC code is refused."""
    with path.open(newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if not line.lstrip().startswith("#")]
    directory: dict[str, str] = {}
    for row in csv.DictReader(lines):
        code = normalise_naic(row["code"])
        if code is None or not row["name"].strip():
            raise ValueError(f"{path.name}: {row['code']!r} is not a NAIC code with a name")
        if code in directory:
            raise ValueError(f"{path.name}: NAIC {code} is listed twice")
        directory[code] = row["name"].strip()
    return directory


@cache
def naic_directory() -> Mapping[str, str]:
    """The directory, read-only and cached for the life of the process."""
    return MappingProxyType(read_directory(DIRECTORY_FILE))
