"""The child process that reads one PDF: ``python -m integrations.certificate_reader.child '<limits json>'``
with the PDF on stdin; answers ``{"certificate": ...}`` or ``{"unreadable": "<reason>"}`` on stdout.

Its limits are set first, before the PDF is read or a PDF library imported."""

import json
import resource
import sys
from typing import Any


def _limit(kind: int, value: int) -> None:
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, hard))


def _answer(pdf: bytes, limits: Any) -> dict[str, Any]:
    from pydantic import TypeAdapter

    from domain.certificates import ParsedCertificate
    from integrations.certificate_reader.limits import UnreadableCertificate
    from integrations.certificate_reader.parse import parse

    try:
        certificate = parse(pdf, limits)
    except UnreadableCertificate as unreadable:
        return {"unreadable": unreadable.reason}
    return {"certificate": TypeAdapter(ParsedCertificate).dump_python(certificate, mode="json")}


def main() -> None:
    from integrations.certificate_reader.limits import ReadingLimits

    limits = ReadingLimits.from_json(json.loads(sys.argv[1]))
    _limit(resource.RLIMIT_CPU, limits.cpu_seconds)
    _limit(resource.RLIMIT_AS, limits.memory_bytes)
    _limit(resource.RLIMIT_CORE, 0)
    pdf = sys.stdin.buffer.read()
    try:
        answer = _answer(pdf, limits)
    except MemoryError:
        memory = limits.memory_bytes // (1024 * 1024)
        answer = {"unreadable": f"reading the PDF needed more than the {memory} MB of memory allowed"}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
