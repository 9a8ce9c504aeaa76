"""Benchmark: how well and at what cost certificates of insurance are read (integrations/certificate_reader).

    .venv/bin/python -m bench.certificate_reading [--count 40] [--scans 12]

Accuracy: over generated certificates whose names, insurers, amounts, dates, coverages and ADDL/SUBR answers
vary (tests/certificate_factory.py ``varied``), fields read correctly / fields present, per form. A field
counts as correct only when its value is exactly what was written; a field found that was not written would
count against (none is). gigcover's own certificates are measured the same way.

Cost: the wall time to read one certificate of each form through ``read_certificate`` (child process start
included; the median of 3), and the peak memory of that reading: the largest resident set of the child and
of the Tesseract it runs (each read is made from a fresh measuring process, so ``RUSAGE_CHILDREN`` covers
that one reading only).
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from random import Random

from documents.certificate import CertificateOfInsurance, Party, render_certificates
from domain.certificates import CoverageKind, LimitKind, ParsedCertificate
from domain.coverage import CoverageType
from integrations.certificate_reader import read_certificate
from tests import certificate_factory as factory

_NAMES = ("Marisol Vega", "Tomasz Kowalczyk", "Amara Okafor Consulting", "Bright Path Studio LLC", "Li Wei")
_HOLDERS = ("Acme Brands", "Gigwork Marketplace Corp", "Fieldday Events LLC")


def _gigcover(seed: int) -> tuple[bytes, dict[str, object]]:
    """One of gigcover's own certificates (one to three coverages) and the fields it shows."""
    pick = Random(seed)
    issued = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=pick.randrange(0, 600))
    ends = issued + timedelta(days=pick.randrange(30, 365))
    insured, holder = pick.choice(_NAMES), pick.choice(_HOLDERS)
    occurrence = pick.choice((500_000, 1_000_000, 2_000_000))
    coverages = pick.sample(
        (CoverageType.GENERAL, CoverageType.WORKERS_COMP, CoverageType.PROFESSIONAL), pick.randrange(1, 4)
    )
    certificates = [
        CertificateOfInsurance(
            certificate_number=f"pl_{seed}-{n}",
            policy_id=f"pl_b{seed}x",
            coverage=coverage,
            insured=Party(insured, ("1 Market St", "San Francisco, CA 94105")),
            holder=Party(holder, ("500 Market St", "San Francisco, CA 94105")),
            effective_date=int(issued.timestamp()),
            expiration_date=int(ends.timestamp()),
            job_category="Spokesperson / Influencer",
            description_of_operations="Spring campaign: three sponsored posts",
            work_state="CA",
            occurrence_limit=occurrence * 100,
            aggregate_limit=2 * occurrence * 100,
            issued_at=int(issued.timestamp()),
            sandbox=False,
        )
        for n, coverage in enumerate(coverages)
    ]
    expected: dict[str, object] = {
        "issued": issued.date(),
        "producer.name": "gigcover Insurance Services",
        "insured.name": insured,
        "insured.address": "1 Market St, San Francisco, CA 94105",
        "certificate_holder.name": holder,
        "certificate_holder.address": "500 Market St, San Francisco, CA 94105",
        "description": "Spring campaign: three sponsored posts",
    }
    kinds = {
        CoverageType.GENERAL: (CoverageKind.GENERAL_LIABILITY, "GL"),
        CoverageType.WORKERS_COMP: (CoverageKind.WORKERS_COMP, "WC"),
        CoverageType.PROFESSIONAL: (CoverageKind.PROFESSIONAL, "PL"),
    }
    for coverage in coverages:
        kind, suffix = kinds[coverage]
        key = kind.value
        expected |= {
            f"{key}.policy_number": f"pl_b{seed}x-{suffix}",
            f"{key}.effective": issued.date(),
            f"{key}.expires": ends.date(),
        }
        limits: dict[LimitKind, int] = {
            CoverageKind.GENERAL_LIABILITY: {
                LimitKind.EACH_OCCURRENCE: occurrence,
                LimitKind.GENERAL_AGGREGATE: 2 * occurrence,
            },
            CoverageKind.PROFESSIONAL: {
                LimitKind.EACH_CLAIM: occurrence,
                LimitKind.AGGREGATE: 2 * occurrence,
            },
            CoverageKind.WORKERS_COMP: {
                LimitKind.EL_EACH_ACCIDENT: 1_000_000,
                LimitKind.EL_DISEASE_EACH_EMPLOYEE: 1_000_000,
                LimitKind.EL_DISEASE_POLICY_LIMIT: 1_000_000,
            },
        }[kind]
        expected |= {f"{key}.limit.{k.value}": v for k, v in limits.items()}
    return render_certificates(certificates), expected


def _tally(expected: dict[str, object], parsed: ParsedCertificate) -> tuple[int, int, int]:
    found = factory.found_fields(parsed)
    correct = sum(1 for name, value in expected.items() if found.get(name) == value)
    extra = len(set(found) - set(expected))
    return correct, len(expected), extra


def _acord(
    make: Callable[[factory.CertificateSpec], bytes],
) -> Callable[[int], tuple[bytes, dict[str, object]]]:
    def one(seed: int) -> tuple[bytes, dict[str, object]]:
        spec = factory.varied(seed)
        return make(spec), factory.expected_fields(spec)

    return one


def _gigcover_scan(seed: int) -> tuple[bytes, dict[str, object]]:
    pdf, expected = _gigcover(seed)
    return factory.scan(pdf, seed=seed), expected


FORMS: dict[str, Callable[[int], tuple[bytes, dict[str, object]]]] = {
    "ACORD 25, fillable (form fields)": _acord(factory.fillable),
    "ACORD 25, flattened (text layer)": _acord(factory.flattened),
    "ACORD 25, scanned (OCR)": _acord(factory.scanned),
    "gigcover, as issued (text layer)": _gigcover,
    "gigcover, scanned (OCR)": _gigcover_scan,
}


def accuracy(name: str, count: int) -> None:
    correct = present = extra = 0
    for seed in range(count):
        pdf, expected = FORMS[name](seed)
        good, total, more = _tally(expected, read_certificate(pdf))
        correct, present, extra = correct + good, present + total, extra + more
    print(
        f"| {name} | {count} | {correct} / {present} | {100 * correct / present:.1f}% | {extra} |", flush=True
    )


def measure(name: str) -> None:
    """In a fresh process: read one certificate of the form 3 times; print the time and the peak RSS."""
    pdf, _ = FORMS[name](1)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        read_certificate(pdf)
        times.append(time.perf_counter() - started)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": statistics.median(times), "peak_mb": peak_kb / 1024, "bytes": len(pdf)}))


def main(count: int, scans: int) -> None:
    print("| Form | Certificates | Fields read correctly / present | Accuracy | Found but not written |")
    print("|---|---|---|---|---|")
    for name in FORMS:
        accuracy(name, scans if "OCR" in name else count)
    print()
    print("| Form | PDF size | Time to read one (median of 3) | Peak memory of the reading (max RSS) |")
    print("|---|---|---|---|")
    for name in FORMS:
        answer = subprocess.run(
            [sys.executable, "-m", "bench.certificate_reading", "--measure", name],
            capture_output=True,
            check=True,
            text=True,
        )
        figures = json.loads(answer.stdout)
        print(
            f"| {name} | {figures['bytes'] / 1024:.0f} KB | {figures['seconds']:.2f} s | "
            f"{figures['peak_mb']:.0f} MB |",
            flush=True,
        )
    print(f"\n(measured {date.today()}; machine shared with other work, so times are an upper bound)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=40, help="certificates per form with a text layer")
    parser.add_argument("--scans", type=int, default=12, help="certificates per scanned form")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        measure(arguments.measure)
    else:
        main(arguments.count, arguments.scans)
