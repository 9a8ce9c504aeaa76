"""The parent side: run the reading in a child process bounded in memory, CPU and wall time, and turn what
it answers (or how it died) into a ``ParsedCertificate`` or an ``UnreadableCertificate`` with the reason.

The child is a fresh interpreter (``python -m integrations.certificate_reader.child``): the PDF goes in on
stdin, the limits as its one argument, and one JSON object comes back on stdout. It sets its own
RLIMIT_AS and RLIMIT_CPU before it reads a byte, so a zip bomb or a pathological page costs the child its
life, never the worker's memory; the parent kills its whole process group (Tesseract included) at the wall
deadline."""

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from domain.certificates import ParsedCertificate
from integrations.certificate_reader.limits import ReadingLimits, UnreadableCertificate

_CERTIFICATE = TypeAdapter(ParsedCertificate)
_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds the integrations package
_MAX_ANSWER_BYTES = 4 * 1024 * 1024
_PASSED_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "TESSDATA_PREFIX", "TMPDIR", "HOME")


def _environment() -> dict[str, str]:
    environment = {name: os.environ[name] for name in _PASSED_ENVIRONMENT if name in os.environ}
    paths = [str(_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    environment["PYTHONPATH"] = os.pathsep.join(paths)
    environment["OMP_THREAD_LIMIT"] = "1"  # Tesseract: one thread (2 cores shared; less address space)
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return environment


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _reason_for_death(returncode: int, limits: ReadingLimits) -> str:
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"reading used more than {limits.cpu_seconds} s of processor time"
    memory = limits.memory_bytes // (1024 * 1024)
    if returncode in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS):
        return f"reading the PDF needed more than the {memory} MB of memory allowed"
    return f"the reader stopped unexpectedly (exit status {returncode})"


def read_certificate(pdf: bytes, limits: ReadingLimits = ReadingLimits()) -> ParsedCertificate:
    """Read one certificate of insurance. Raises ``UnreadableCertificate`` with the reason in words."""
    if len(pdf) > limits.max_bytes:
        size, most = len(pdf) / (1024 * 1024), limits.max_bytes / (1024 * 1024)
        raise UnreadableCertificate(f"the file is {size:.0f} MB; a certificate is at most {most:.0f} MB")
    if not pdf.lstrip()[:5].startswith(b"%PDF"):
        raise UnreadableCertificate("the file is not a PDF")
    process = subprocess.Popen(
        [sys.executable, "-m", "integrations.certificate_reader.child", json.dumps(limits.to_json())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_environment(),
        cwd=str(_ROOT),
        start_new_session=True,  # its own process group: killed with everything it started
    )
    try:
        answer, _ = process.communicate(pdf, timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise UnreadableCertificate(f"reading took longer than {limits.wall_seconds:g} s") from None
    except BaseException:
        _kill(process)
        raise
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # and what it started (Tesseract)
            os.killpg(process.pid, signal.SIGKILL)
    if process.returncode != 0 or not answer or len(answer) > _MAX_ANSWER_BYTES:
        raise UnreadableCertificate(_reason_for_death(process.returncode, limits))
    message: dict[str, Any] = json.loads(answer)
    if "unreadable" in message:
        raise UnreadableCertificate(str(message["unreadable"]))
    return _CERTIFICATE.validate_python(message["certificate"])
