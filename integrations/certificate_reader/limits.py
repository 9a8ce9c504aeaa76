"""What reading one certificate may cost, and the refusal when a file cannot be read."""

import errno
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ReadingLimits:
    """Bounds on reading one PDF. The reading runs in a child process that holds them (see reading.py)."""

    max_bytes: int = 20 * 1024 * 1024  # the file itself (the upload API takes 15 MB)
    max_pages: int = 20  # an ACORD 25 is one or two pages; a longer file is refused before any heavy work
    cpu_seconds: int = 30  # RLIMIT_CPU of the child (and of each Tesseract it runs)
    memory_bytes: int = 512 * 1024 * 1024  # RLIMIT_AS of the child: a zip bomb kills it, not the worker
    wall_seconds: float = 60.0  # the whole reading, start of the child to its answer
    ocr_dpi: int = 300  # a scan's pages are rasterized at this resolution for Tesseract
    ocr_pages: int = 3  # only the first pages of a scan are read by OCR (gigcover: a page per coverage)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ReadingLimits":
        return cls(**data)


class UnreadableCertificate(Exception):
    """The file cannot be read as a certificate; ``str()`` is the reason in words, for the platform and
    the reviewer (e.g. "the PDF is encrypted")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def out_of_memory(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) is the memory limit: a MemoryError, one a library wrapped, or
    an allocation the system refused (ENOMEM: e.g. starting Tesseract without the address space to)."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, MemoryError) or any(isinstance(arg, MemoryError) for arg in error.args):
            return True
        if isinstance(error, OSError) and error.errno == errno.ENOMEM:
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False
