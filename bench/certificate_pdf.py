"""Benchmark: CPU time to render a certificate of insurance, for an insured named in Latin letters and in
Greek (which needs the fonts' second cut), and a policy's two certificates together.

    .venv/bin/python -m bench.certificate_pdf [--count 40] [--rounds 5]

CPU time of this process (time.process_time), so other work on the machine moves it less than wall time;
the median of the rounds. The first render of each kind, which prepares the fonts, is left out.
"""

import argparse
import statistics
import time
from collections.abc import Callable

from documents.certificate import CertificateOfInsurance, Party, render_certificates
from domain.coverage import CoverageType


def certificate(insured: str, coverage: CoverageType = CoverageType.GENERAL) -> CertificateOfInsurance:
    return CertificateOfInsurance(
        certificate_number="pl_bench-GL-1",
        policy_id="pl_bench",
        coverage=coverage,
        insured=Party(insured, ("1 Market St", "San Francisco, CA 94105")),
        holder=Party("Acme Brands", ("500 Market St", "San Francisco, CA 94105")),
        effective_date=1_800_000_000,
        expiration_date=1_810_000_000,
        job_category="Spokesperson / Influencer",
        description_of_operations="Spring campaign: three sponsored posts",
        work_state="CA",
        occurrence_limit=100_000_000,
        aggregate_limit=200_000_000,
        issued_at=1_800_000_000,
        sandbox=True,
    )


def cpu_ms(work: Callable[[], object], count: int, rounds: int) -> tuple[float, list[float]]:
    work()
    measured = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(count):
            work()
        measured.append(1000 * (time.process_time() - started) / count)
    return statistics.median(measured), measured


def main(count: int, rounds: int) -> None:
    latin, greek = certificate("Zoë Doe-Ștefan"), certificate("Νίκος Παπαδόπουλος")
    wc = certificate("Zoë Doe-Ștefan", CoverageType.WORKERS_COMP)
    cases: dict[str, Callable[[], object]] = {
        "a certificate, insured with a Latin name": lambda: render_certificates([latin]),
        "a certificate, insured with a Greek name": lambda: render_certificates([greek]),
        "both certificates of a two-coverage policy in one PDF": lambda: render_certificates([latin, wc]),
    }
    for name, work in cases.items():
        median, measured = cpu_ms(work, count, rounds)
        print(f"{name}: {median:.1f} ms CPU ({', '.join(f'{m:.1f}' for m in measured)})", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    main(arguments.count, arguments.rounds)
