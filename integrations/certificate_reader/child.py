"""The child process that reads one PDF: ``python -m integrations.certificate_reader.child '<limits json>'``
with the PDF on stdin; answers ``{"certificate": ...}`` or ``{"unreadable": "<reason>"}`` on stdout.

Its limits are set first, before the PDF is read or a PDF library imported."""

import json
import os
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
    from integrations.certificate_reader.limits import ReadingLimits, out_of_memory

    limits = ReadingLimits.from_json(json.loads(sys.argv[1]))
    memory = limits.memory_bytes // (1024 * 1024)
    # Made before the limit: once the memory runs out, writing this needs next to nothing more.
    too_big = f"reading the PDF needed more than the {memory} MB of memory allowed"
    too_big_bytes = json.dumps({"unreadable": too_big}).encode()
    _limit(resource.RLIMIT_CPU, limits.cpu_seconds)
    _limit(resource.RLIMIT_AS, limits.memory_bytes)
    _limit(resource.RLIMIT_CORE, 0)
    try:
        answer = json.dumps(_answer(sys.stdin.buffer.read(), limits))
    except Exception as error:  # the limit can strike anywhere: in a library, an import, starting Tesseract
        # CPython reports some failed allocations (in an import, say) as a SystemError without a cause
        if not (out_of_memory(error) or isinstance(error, SystemError)):
            raise
        os.write(1, too_big_bytes)
        os._exit(0)  # answered; the interpreter's own shutdown could itself run out of memory (exit 120)
    sys.stdout.write(answer)
    sys.stdout.flush()
    os._exit(0)  # answered: nothing is left to clean up, and a shutdown near the limit can fail


if __name__ == "__main__":
    main()
