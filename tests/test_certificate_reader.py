"""Certificates of insurance read back: the suite makes ACORD 25 certificates itself in the three forms
contractors bring (fillable, flattened, scanned) and gigcover's own, reads each through the bounded child
process as the review does, and compares every field with what it wrote. Hostile files are refused with
their reason, in bounded time. The scan tests run Debian's Tesseract: they fail (never skip) without it."""

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytesseract
import pytest

from documents.certificate import CertificateOfInsurance, Party, render_certificates
from domain.certificate_review import outcome, review
from domain.certificates import (
    CertificateStatus,
    CoverageKind,
    CoverageRequirement,
    LimitKind,
    ParsedCertificate,
    ReadMethod,
    RequirementRules,
    ReviewContext,
)
from domain.coverage import CoverageType
from integrations.certificate_reader import ReadingLimits, UnreadableCertificate, read_certificate
from integrations.naic import naic_directory
from tests import certificate_factory as factory
from tests.certificate_factory import CertificateSpec, expected_fields, found_fields, score

FORMS = {
    "fillable": (factory.fillable, ReadMethod.FORM_FIELDS),
    "flattened": (factory.flattened, ReadMethod.TEXT_LAYER),
}


def _read_back(spec: CertificateSpec, parsed: ParsedCertificate) -> None:
    """Every field the certificate shows is read as written, and nothing it does not show is found."""
    correct, present, wrong = score(spec, parsed)
    assert wrong == {}, f"{correct}/{present} fields read correctly"
    assert set(found_fields(parsed)) == set(expected_fields(spec))


@pytest.mark.parametrize("form", FORMS)
def test_each_form_is_read_back_field_by_field(form: str) -> None:
    make, method = FORMS[form]
    for spec in (CertificateSpec(), factory.varied(3), factory.varied(11)):
        parsed = read_certificate(make(spec))
        assert (parsed.method, parsed.form, parsed.pages) == (method, "ACORD 25", 1)
        _read_back(spec, parsed)
        gl = next(p for p in parsed.policies if p.coverage is CoverageKind.GENERAL_LIABILITY)
        occurrence = gl.limits[LimitKind.EACH_OCCURRENCE]
        assert occurrence.confidence == 1.0
        if form == "fillable":
            assert occurrence.where == "form field GeneralLiability_EachOccurrence_LimitAmount_A"
            assert parsed.insurers[0].naic.where == "form field Insurer_NAICCode_A"
        else:
            assert occurrence.where.startswith("page 1 at (")


def test_a_scan_is_read_by_ocr_with_each_fields_confidence() -> None:
    spec = CertificateSpec()
    started = time.monotonic()
    parsed = read_certificate(factory.scanned(spec))
    assert time.monotonic() - started < 30
    assert (parsed.method, parsed.form) == (ReadMethod.OCR, "ACORD 25")
    correct, present, wrong = score(spec, parsed)
    assert correct >= 0.95 * present, wrong
    for name in ("insured.name", "certificate_holder.name", "insurer.A.naic", "general_liability.expires"):
        assert name not in wrong
    assert set(found_fields(parsed)) <= set(expected_fields(spec))  # nothing found that is not there
    reads = [parsed.insured.name, parsed.issued, *(p.expires for p in parsed.policies)]
    for read in reads:
        assert 0.3 <= read.confidence <= 1.0
        assert read.where.startswith("OCR page 1 at (") and ", conf " in read.where


@pytest.mark.parametrize(
    ("defect", "check"),
    [
        (factory.expired, lambda p: all(e.expires.value < date(2026, 11, 2) for e in p.policies)),
        (
            factory.low_limits,
            lambda p: (
                p.policies[0].limits[LimitKind.EACH_OCCURRENCE].value == 300_000
                and p.policies[0].limits[LimitKind.GENERAL_AGGREGATE].value == 600_000
            ),
        ),
        (
            factory.without_workers_comp,
            lambda p: CoverageKind.WORKERS_COMP not in {e.coverage for e in p.policies},
        ),
        (factory.wrong_holder, lambda p: p.certificate_holder.name.value == "Northwind Traders LLC"),
        (
            factory.without_additional_insured,
            lambda p: all(
                e.additional_insured.value is False for e in p.policies if e.additional_insured.found
            ),
        ),
        (
            factory.forged_naic,
            lambda p: (
                (p.insurers[0].name.value, p.insurers[0].naic.value)
                == ("Hartford Fire Insurance Company", factory.FEDERAL[1])
            ),
        ),
    ],
    ids=["expired", "low_limits", "no_workers_comp", "wrong_holder", "no_additional_insured", "forged_naic"],
)
@pytest.mark.parametrize("form", FORMS)
def test_the_known_defects_read_as_written(
    form: str,
    defect: Callable[[CertificateSpec], CertificateSpec],
    check: Callable[[ParsedCertificate], bool],
) -> None:
    spec = defect(CertificateSpec())
    parsed = read_certificate(FORMS[form][0](spec))
    _read_back(spec, parsed)
    assert check(parsed)


@pytest.mark.parametrize("form", FORMS)
def test_a_field_left_empty_is_not_found_never_guessed(form: str) -> None:
    spec = CertificateSpec()
    gl = replace(
        spec.policy(CoverageKind.GENERAL_LIABILITY),
        number="",
        additional_insured=None,
        limits={LimitKind.EACH_OCCURRENCE: 1_000_000},  # no aggregate written
    )
    spec = replace(
        spec,
        policies=(gl, *(p for p in spec.policies if p.coverage is not CoverageKind.GENERAL_LIABILITY)),
        insurers=(replace(spec.insurers[0], naic=""), *spec.insurers[1:]),
        description="",
    )
    parsed = read_certificate(FORMS[form][0](spec))
    _read_back(spec, parsed)
    read_gl = next(p for p in parsed.policies if p.coverage is CoverageKind.GENERAL_LIABILITY)
    assert not read_gl.policy_number.found and read_gl.policy_number.value is None
    assert not read_gl.additional_insured.found
    assert LimitKind.GENERAL_AGGREGATE not in read_gl.limits
    assert not parsed.insurers[0].naic.found and parsed.insurers[0].name.found
    assert not parsed.description.found


def _gigcover_certificate(coverage: CoverageType) -> CertificateOfInsurance:
    return CertificateOfInsurance(
        certificate_number=f"pl_7Hq2-{coverage.value}",
        policy_id="pl_7Hq2",
        coverage=coverage,
        insured=Party("Zoë Doe-Ștefan", ("1 Market St", "San Francisco, CA 94105")),
        holder=Party("Acme Brands", ("500 Market St", "San Francisco, CA 94105")),
        effective_date=int(datetime(2026, 11, 1, 12, tzinfo=UTC).timestamp()),
        expiration_date=int(datetime(2027, 3, 31, 12, tzinfo=UTC).timestamp()),
        job_category="Spokesperson / Influencer",
        description_of_operations="Spring campaign: three sponsored posts",
        work_state="CA",
        occurrence_limit=100_000_000,
        aggregate_limit=200_000_000,
        issued_at=int(datetime(2026, 11, 1, 12, tzinfo=UTC).timestamp()),
        sandbox=False,
    )


def test_gigcovers_own_certificate_reads_correctly() -> None:
    pdf = render_certificates(
        [_gigcover_certificate(CoverageType.GENERAL), _gigcover_certificate(CoverageType.WORKERS_COMP)]
    )
    parsed = read_certificate(pdf)
    assert (parsed.method, parsed.form, parsed.pages) == (ReadMethod.TEXT_LAYER, "gigcover", 2)
    assert parsed.issued.value == date(2026, 11, 1)
    assert parsed.producer.name.value == "gigcover Insurance Services"
    assert parsed.insured.name.value == "Zoë Doe-Ștefan"
    assert parsed.insured.address.value == "1 Market St, San Francisco, CA 94105"
    assert parsed.certificate_holder.name.value == "Acme Brands"
    assert parsed.description.value == "Spring campaign: three sponsored posts"
    gl, wc = parsed.policies
    assert (gl.coverage, gl.policy_number.value) == (CoverageKind.GENERAL_LIABILITY, "pl_7Hq2-GL")
    assert (gl.effective.value, gl.expires.value) == (date(2026, 11, 1), date(2027, 3, 31))
    assert {k: r.value for k, r in gl.limits.items()} == {
        LimitKind.EACH_OCCURRENCE: 1_000_000,
        LimitKind.GENERAL_AGGREGATE: 2_000_000,
    }
    assert (wc.coverage, wc.policy_number.value) == (CoverageKind.WORKERS_COMP, "pl_7Hq2-WC")
    assert {k: r.value for k, r in wc.limits.items()} == {
        LimitKind.EL_EACH_ACCIDENT: 1_000_000,
        LimitKind.EL_DISEASE_EACH_EMPLOYEE: 1_000_000,
        LimitKind.EL_DISEASE_POLICY_LIMIT: 1_000_000,
    }
    assert not gl.additional_insured.found  # our certificate does not say: not found, not assumed


HOSTILE = {
    "not a PDF": (lambda: b"PK\x03\x04 a zip file, renamed", "the file is not a PDF"),
    "encrypted": (factory.encrypted, "the PDF is encrypted"),
    "corrupt": (factory.corrupt, "the PDF is damaged and cannot be opened"),
    "zip bomb": (factory.zip_bomb, "inflates beyond what a certificate needs"),
    "zip bomb in a form XObject": (
        factory.zip_bomb_in_a_form,
        "needed more than the 512 MB of memory allowed",
    ),
    "blank scan": (factory.blank_scan, "no text could be read from the certificate, even by OCR"),
    "300 pages": (factory.many_pages, "the PDF has 300 pages; a certificate has at most 20"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_file_is_refused_with_its_reason_in_bounded_time(name: str) -> None:
    make, reason = HOSTILE[name]
    pdf = make()
    started = time.monotonic()
    with pytest.raises(UnreadableCertificate) as refused:
        read_certificate(pdf)
    assert reason in str(refused.value)
    assert time.monotonic() - started < 20


def test_the_limits_hold_whatever_the_file() -> None:
    scan = factory.scanned(CertificateSpec())
    tight = {
        "reading took longer than 0.5 s": ReadingLimits(wall_seconds=0.5),
        "reading used more than 1 s of processor time": ReadingLimits(cpu_seconds=1),
        "needed more than the 64 MB of memory allowed": ReadingLimits(memory_bytes=64 * 1024 * 1024),
    }
    for reason, limits in tight.items():
        started = time.monotonic()
        with pytest.raises(UnreadableCertificate, match=reason):
            read_certificate(scan, limits)
        assert time.monotonic() - started < 10
    with pytest.raises(UnreadableCertificate, match="the PDF has 3 pages; a certificate has at most 2"):
        read_certificate(factory.many_pages(3), ReadingLimits(max_pages=2))
    with pytest.raises(UnreadableCertificate, match="the file is 40 MB; a certificate is at most 20 MB"):
        read_certificate(b"%PDF-1.7\n" + b" " * (40 * 1024 * 1024))


def test_running_out_of_memory_is_said_so_wherever_it_strikes() -> None:
    """Under a tight memory limit the allocation that fails lands anywhere: in the PDF library, in an import
    (which CPython can report as a SystemError), in starting Tesseract. Whichever, the answer is the memory
    reason, not "stopped unexpectedly". Several readings at once, as a busy worker runs them."""
    scan = factory.scanned(CertificateSpec())
    limits = ReadingLimits(memory_bytes=64 * 1024 * 1024)

    def reason(_: int) -> str:
        try:
            read_certificate(scan, limits)
        except UnreadableCertificate as unreadable:
            return str(unreadable)
        return "read"

    with ThreadPoolExecutor(3) as readers:
        reasons = set(readers.map(reason, range(45)))
    assert reasons == {"reading the PDF needed more than the 64 MB of memory allowed"}


def test_tesseract_is_installed() -> None:
    """Scans are read by Debian's tesseract-ocr (`make` installs it); without it this fails, not skips."""
    assert shutil.which("tesseract") is not None, "tesseract is missing: apt-get install tesseract-ocr"
    assert pytesseract.get_tesseract_version().major >= 4


def test_a_scan_without_tesseract_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # the child finds no tesseract
    with pytest.raises(UnreadableCertificate, match="Tesseract \\(OCR\\) is not installed"):
        read_certificate(factory.scanned(CertificateSpec()))


REQUIREMENT = RequirementRules(
    coverages=(
        CoverageRequirement(
            CoverageKind.GENERAL_LIABILITY,
            {LimitKind.EACH_OCCURRENCE: 1_000_000, LimitKind.GENERAL_AGGREGATE: 2_000_000},
            additional_insured=True,
            waiver_of_subrogation=True,
        ),
        CoverageRequirement(CoverageKind.WORKERS_COMP, {LimitKind.EL_EACH_ACCIDENT: 1_000_000}),
    ),
    certificate_holder="Acme Brands Inc",
)


@pytest.mark.parametrize("form", [*FORMS, "scanned"])
def test_what_is_read_passes_the_review_or_fails_the_right_rule(form: str) -> None:
    """The reader's output through the review as uploads meet it: a sound certificate is approved in every
    form (a scan too: its values are read surely enough), a forged NAIC is flagged for that rule alone."""
    make = factory.scanned if form == "scanned" else FORMS[form][0]
    context = ReviewContext(today=date(2026, 11, 10))
    sound = review(read_certificate(make(CertificateSpec())), REQUIREMENT, context, naic_directory())
    assert [r.rule for r in sound if not r.passed] == []
    assert outcome(sound) is CertificateStatus.APPROVED
    forged = read_certificate(make(factory.forged_naic(CertificateSpec())))
    results = review(forged, REQUIREMENT, context, naic_directory())
    assert [r.rule for r in results if not r.passed] == ["forgery.naic.A"]


def test_gigcovers_own_certificate_passes_the_same_review() -> None:
    pdf = render_certificates(
        [_gigcover_certificate(CoverageType.GENERAL), _gigcover_certificate(CoverageType.WORKERS_COMP)]
    )
    requirement = RequirementRules(
        coverages=(
            CoverageRequirement(
                CoverageKind.GENERAL_LIABILITY,
                {LimitKind.EACH_OCCURRENCE: 1_000_000, LimitKind.GENERAL_AGGREGATE: 2_000_000},
            ),
            CoverageRequirement(CoverageKind.WORKERS_COMP, {LimitKind.EL_EACH_ACCIDENT: 1_000_000}),
        ),
        certificate_holder="Acme Brands",
    )
    results = review(
        read_certificate(pdf), requirement, ReviewContext(today=date(2026, 11, 10)), naic_directory()
    )
    assert [r.rule for r in results if not r.passed] == []
