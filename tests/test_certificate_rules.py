"""The review rules (domain/certificate_review.py), pure: each rule passes on a good certificate and fails,
with the reason in words, on one with that defect."""

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.certificate_review import (
    LOW_CONFIDENCE,
    describe,
    normalise_name,
    outcome,
    review,
    same_insurer,
)
from domain.certificates import (
    CertificateStatus,
    CoverageKind,
    CoverageRequirement,
    ExpiryRule,
    Insurer,
    LimitKind,
    ParsedCertificate,
    Party,
    PolicyEntry,
    Read,
    ReadMethod,
    RequirementRules,
    ReviewContext,
    RuleResult,
    Waiver,
)
from integrations.naic import naic_directory, read_directory

TODAY = date(2026, 3, 10)
GL, WC = CoverageKind.GENERAL_LIABILITY, CoverageKind.WORKERS_COMP
DIRECTORY = {
    "29424": "Hartford Casualty Insurance Company",
    "25674": "Travelers Property Casualty Company of America",
    "19445": "National Union Fire Insurance Company of Pittsburgh, PA",
}


def sure(value: object, where: str = "field") -> Read:
    return Read(value=value, confidence=1.0, where=where)


def policy(
    coverage: CoverageKind = GL,
    number: str = "GL-100",
    effective: date = date(2026, 1, 1),
    expires: date = date(2027, 1, 1),
    limits: dict[LimitKind, int] | None = None,
    ai: bool = True,
    wos: bool = True,
    letter: str = "A",
) -> PolicyEntry:
    limits = (
        limits
        if limits is not None
        else {LimitKind.EACH_OCCURRENCE: 1_000_000, LimitKind.GENERAL_AGGREGATE: 2_000_000}
    )
    return PolicyEntry(
        coverage=coverage,
        insurer_letter=sure(letter),
        policy_number=sure(number, f"{coverage} policy number"),
        effective=sure(effective, f"{coverage} effective"),
        expires=sure(expires, f"{coverage} expires"),
        limits={k: sure(v, f"{coverage} {k}") for k, v in limits.items()},
        additional_insured=sure(ai),
        waiver_of_subrogation=sure(wos),
    )


def certificate(**changes: object) -> ParsedCertificate:
    base = ParsedCertificate(
        method=ReadMethod.FORM_FIELDS,
        form="ACORD 25",
        pages=1,
        issued=sure(date(2026, 1, 5), "Form_CompletionDate_A"),
        insured=Party(name=sure("Jo Contractor")),
        insurers=(
            Insurer("A", name=sure("Hartford Casualty Insurance Co."), naic=sure("29424", "NAIC A")),
            Insurer("B", name=sure("Travelers Property Casualty Co of America"), naic=sure("25674")),
        ),
        policies=(
            policy(),
            policy(WC, "WC-200", limits={LimitKind.EL_EACH_ACCIDENT: 1_000_000}, ai=False, letter="B"),
        ),
        certificate_holder=Party(name=sure("Acme Staffing, Inc."), address=sure("1 Main St")),
    )
    return replace(base, **changes)


RULES = RequirementRules(
    coverages=(
        CoverageRequirement(
            GL,
            {LimitKind.EACH_OCCURRENCE: 1_000_000, LimitKind.GENERAL_AGGREGATE: 2_000_000},
            additional_insured=True,
            waiver_of_subrogation=True,
        ),
        CoverageRequirement(WC, {LimitKind.EL_EACH_ACCIDENT: 500_000}),
    ),
    expiry=ExpiryRule.IN_FORCE_TODAY,
    certificate_holder="ACME STAFFING",
)


def run(
    parsed: ParsedCertificate | None = None,
    rules: RequirementRules = RULES,
    context: ReviewContext | None = None,
) -> dict[str, RuleResult]:
    results = review(parsed or certificate(), rules, context or ReviewContext(today=TODAY), DIRECTORY)
    names = [r.rule for r in results]
    assert len(names) == len(set(names)), names
    return {r.rule: r for r in results}


def failed(results: dict[str, RuleResult]) -> dict[str, str]:
    return {name: r.reason for name, r in results.items() if not r.passed}


def test_a_good_certificate_passes_every_rule_and_is_approved() -> None:
    results = run()
    assert failed(results) == {}
    assert set(results) == {
        "general_liability.present",
        "general_liability.each_occurrence",
        "general_liability.general_aggregate",
        "general_liability.additional_insured",
        "general_liability.waiver_of_subrogation",
        "general_liability.expiry",
        "workers_comp.present",
        "workers_comp.el_each_accident",
        "workers_comp.expiry",
        "certificate_holder",
        "forgery.naic.A",
        "forgery.naic.B",
        "forgery.dates.certificate",
        "forgery.dates.general_liability",
        "forgery.dates.workers_comp",
        "forgery.issued_after_expiry",
        "forgery.policy_numbers",
    }
    assert outcome(results.values()) is CertificateStatus.APPROVED
    occurrence = results["general_liability.each_occurrence"]
    assert (occurrence.required, occurrence.found) == ("at least $1,000,000", "$1,000,000")
    assert occurrence.where == "general_liability each_occurrence"
    assert occurrence.description == "General liability: each occurrence at least $1,000,000"


def test_missing_workers_comp_fails_every_workers_comp_rule_with_the_reason() -> None:
    results = run(certificate(policies=(policy(),)))
    assert failed(results) == {
        "workers_comp.present": "not found on the certificate",
        "workers_comp.el_each_accident": "no workers' compensation policy on the certificate",
        "workers_comp.expiry": "no workers' compensation policy on the certificate",
    }
    assert outcome(results.values()) is CertificateStatus.FLAGGED


def test_a_low_limit_fails_with_both_amounts() -> None:
    low = policy(limits={LimitKind.EACH_OCCURRENCE: 500_000, LimitKind.GENERAL_AGGREGATE: 2_000_000})
    results = run(certificate(policies=(low, certificate().policies[1])))
    assert failed(results) == {
        "general_liability.each_occurrence": "$500,000 is less than the $1,000,000 required",
    }
    assert results["general_liability.each_occurrence"].found == "$500,000"


def test_a_limit_not_read_fails_as_not_found_never_assumed() -> None:
    gl = policy(limits={LimitKind.EACH_OCCURRENCE: 1_000_000})
    results = run(certificate(policies=(gl, certificate().policies[1])))
    assert failed(results) == {"general_liability.general_aggregate": "not found on the certificate"}
    assert results["general_liability.general_aggregate"].found == "not found"


@pytest.mark.parametrize("confidence", [0.0, 0.3, LOW_CONFIDENCE - 0.01])
def test_an_ocr_value_read_with_low_confidence_is_for_a_person(confidence: float) -> None:
    gl = policy()
    unsure = replace(
        gl, limits={**gl.limits, LimitKind.EACH_OCCURRENCE: Read(5_000_000, confidence, "OCR page 1 line 30")}
    )
    results = run(certificate(method=ReadMethod.OCR, policies=(unsure, certificate().policies[1])))
    reasons = failed(results)
    assert list(reasons) == ["general_liability.each_occurrence"]
    assert reasons["general_liability.each_occurrence"].startswith("read with low confidence")
    assert results["general_liability.each_occurrence"].where == "OCR page 1 line 30"


def test_a_value_read_with_enough_confidence_is_used() -> None:
    gl = policy()
    ok = replace(gl, limits={**gl.limits, LimitKind.EACH_OCCURRENCE: Read(1_000_000, LOW_CONFIDENCE, "OCR")})
    assert failed(run(certificate(policies=(ok, certificate().policies[1])))) == {}


@pytest.mark.parametrize(
    ("field", "rule", "label"),
    [
        (
            "additional_insured",
            "general_liability.additional_insured",
            "the holder named as additional insured",
        ),
        ("waiver_of_subrogation", "general_liability.waiver_of_subrogation", "waiver of subrogation"),
    ],
)
def test_endorsements_required_must_be_shown(field: str, rule: str, label: str) -> None:
    gl = policy()
    for value, reason in (
        (sure(False), f"the certificate does not show {label}"),
        (Read(), "not found on the certificate"),
    ):
        results = run(certificate(policies=(replace(gl, **{field: value}), certificate().policies[1])))
        assert failed(results) == {rule: reason}


def test_endorsements_not_required_are_not_rules() -> None:
    rules = replace(RULES, coverages=(CoverageRequirement(GL),))
    results = run(rules=rules)
    assert "general_liability.additional_insured" not in results
    assert "general_liability.waiver_of_subrogation" not in results


def expiry_case(expires: date, effective: date = date(2026, 1, 1)) -> ParsedCertificate:
    return certificate(
        policies=(policy(effective=effective, expires=expires), certificate().policies[1]),
        issued=sure(date(2025, 12, 1)),
    )


@pytest.mark.parametrize(
    ("rules", "context", "expires", "effective", "reason"),
    [
        (RULES, ReviewContext(TODAY), date(2026, 3, 11), date(2026, 1, 1), ""),
        (RULES, ReviewContext(TODAY), date(2026, 3, 3), date(2025, 3, 3), "expired on March 3, 2026"),
        (RULES, ReviewContext(TODAY), TODAY, date(2025, 3, 10), "expired on March 10, 2026"),
        (
            RULES,
            ReviewContext(TODAY),
            date(2027, 4, 1),
            date(2026, 4, 1),
            "not in force yet: it starts on April 1, 2026",
        ),
        (
            replace(RULES, expiry=ExpiryRule.THROUGH_ASSIGNMENT_END),
            ReviewContext(TODAY, assignment_ends=date(2026, 6, 30)),
            date(2026, 7, 1),
            date(2026, 1, 1),
            "",
        ),
        (
            replace(RULES, expiry=ExpiryRule.THROUGH_ASSIGNMENT_END),
            ReviewContext(TODAY, assignment_ends=date(2026, 6, 30)),
            date(2026, 6, 30),
            date(2026, 1, 1),
            "expires on June 30, 2026, before the assignment ends on June 30, 2026",
        ),
        (
            replace(RULES, expiry=ExpiryRule.THROUGH_ASSIGNMENT_END),
            ReviewContext(TODAY),
            date(2027, 1, 1),
            date(2026, 1, 1),
            "there is no assignment end date to compare with; a person should check the dates",
        ),
        (
            replace(RULES, expiry=ExpiryRule.DAYS_LEFT, minimum_days_left=30),
            ReviewContext(TODAY),
            TODAY + timedelta(days=30),
            date(2026, 1, 1),
            "",
        ),
        (
            replace(RULES, expiry=ExpiryRule.DAYS_LEFT, minimum_days_left=30),
            ReviewContext(TODAY),
            TODAY + timedelta(days=29),
            date(2026, 1, 1),
            "expires on April 8, 2026: 29 days left, fewer than the 30 required",
        ),
    ],
)
def test_expiry_rules(
    rules: RequirementRules, context: ReviewContext, expires: date, effective: date, reason: str
) -> None:
    results = run(expiry_case(expires, effective), rules, context)
    assert results["general_liability.expiry"].reason == reason
    assert results["general_liability.expiry"].passed is (reason == "")


def test_an_expiry_date_not_read_fails_the_expiry_rule() -> None:
    gl = replace(policy(), expires=Read())
    results = run(certificate(policies=(gl, certificate().policies[1])))
    assert results["general_liability.expiry"].reason == "expiration date not found on the certificate"


@pytest.mark.parametrize(
    ("holder", "passes"),
    [
        ("Acme Staffing, Inc.", True),
        ("ACME STAFFING INC", True),
        ("The Acme Staffing Company", True),
        ("Acme Staffing LLC\n1 Main St, Springfield", True),
        ("acme  staffing", True),
        ("Acme Staffing Partners", False),
        ("Apex Staffing, Inc.", False),
        ("Inc.", False),
    ],
)
def test_the_certificate_holder_matches_by_name(holder: str, passes: bool) -> None:
    results = run(certificate(certificate_holder=Party(name=sure(holder))))
    assert results["certificate_holder"].passed is passes
    if not passes:
        assert results["certificate_holder"].reason.startswith("made out to")


def test_a_holder_not_read_fails() -> None:
    results = run(certificate(certificate_holder=Party()))
    assert results["certificate_holder"].reason == "not found on the certificate"


def test_a_naic_number_of_another_insurer_is_a_sign_of_forgery() -> None:
    forged = Insurer("A", name=sure("Hartford Casualty Insurance Company"), naic=sure("19445", "NAIC A"))
    results = run(certificate(insurers=(forged, certificate().insurers[1])))
    assert failed(results) == {
        "forgery.naic.A": "NAIC 19445 belongs to National Union Fire Insurance Company of Pittsburgh, PA, "
        "not to Hartford Casualty Insurance Company"
    }
    assert results["forgery.naic.A"].where == "NAIC A"


def test_a_naic_number_not_in_the_directory_is_not_flagged_but_said() -> None:
    unknown = Insurer("A", name=sure("Small Mutual"), naic=sure("99999"))
    results = run(certificate(insurers=(unknown, certificate().insurers[1])))
    assert results["forgery.naic.A"].passed
    assert "not in the directory" in results["forgery.naic.A"].found


def test_a_naic_number_that_is_not_a_number_is_flagged() -> None:
    bad = Insurer("A", name=sure("Hartford Casualty"), naic=sure("29A24"))
    assert failed(run(certificate(insurers=(bad, certificate().insurers[1])))) == {
        "forgery.naic.A": "'29A24' is not a NAIC number (five digits)"
    }


def test_a_mismatch_read_with_low_confidence_says_so() -> None:
    blurred = Insurer("A", name=sure("Hartford Casualty"), naic=Read("19445", 0.4, "OCR"))
    reason = failed(run(certificate(insurers=(blurred, certificate().insurers[1]))))["forgery.naic.A"]
    assert reason.startswith("the NAIC number or the name was read with low confidence")


@pytest.mark.parametrize(
    ("directory", "found", "same"),
    [
        ("Hartford Casualty Insurance Company", "Hartford Casualty Ins. Co.", True),
        ("Hartford Casualty Insurance Company", "HARTFORD CASUALTY INSURANCE CO", True),
        ("Travelers Property Casualty Company of America", "Travelers Property Casualty", True),
        ("State Farm Mutual Automobile Insurance Company", "State Farm Mutual Automobile Ins Co", True),
        ("Travelers Property Casualty Company of America", "Hartford Casualty", False),
        ("Hartford Casualty Insurance Company", "Insurance Company", False),
        ("Hartford Casualty Insurance Company", "Casualty Hartford Fire", False),
    ],
)
def test_insurer_names_match_with_or_without_company_words(directory: str, found: str, same: bool) -> None:
    assert same_insurer(directory, found) is same


@pytest.mark.parametrize(
    ("effective", "expires", "reason"),
    [
        (
            date(2026, 1, 1),
            date(2025, 12, 1),
            "it expires (December 1, 2025) on or before it takes effect (January 1, 2026)",
        ),
        (
            date(2026, 1, 1),
            date(2032, 1, 2),
            "its term, January 1, 2026 to January 2, 2032, is longer than 5 years",
        ),
        (
            date(1985, 1, 1),
            date(1986, 1, 1),
            "the effective date January 1, 1985 is before 1990; "
            "the expiration date January 1, 1986 is before 1990",
        ),
        (date(2026, 1, 1), date(2031, 1, 1), ""),
        (
            date(2045, 1, 1),
            date(2046, 1, 1),
            "the effective date January 1, 2045 is more than 10 years ahead; "
            "the expiration date January 1, 2046 is more than 10 years ahead",
        ),
    ],
)
def test_dates_that_cannot_be_are_signs_of_forgery(effective: date, expires: date, reason: str) -> None:
    gl = policy(effective=effective, expires=expires)
    results = run(certificate(policies=(gl, certificate().policies[1]), issued=sure(date(1980, 1, 1))))
    assert results["forgery.dates.general_liability"].reason == reason


@pytest.mark.parametrize(
    ("issued", "reason"),
    [
        (date(2026, 3, 10), ""),
        (date(2026, 3, 11), "dated March 11, 2026, after the day of the review"),
        (date(1989, 12, 31), "dated December 31, 1989, before 1990"),
    ],
)
def test_the_certificate_date_can_be(issued: date, reason: str) -> None:
    assert run(certificate(issued=sure(issued)))["forgery.dates.certificate"].reason == reason


def test_a_certificate_dated_after_its_policy_expired_is_flagged() -> None:
    lapsed = policy(effective=date(2025, 1, 1), expires=date(2026, 1, 1))
    results = run(certificate(policies=(lapsed, certificate().policies[1]), issued=sure(date(2026, 2, 1))))
    assert results["forgery.issued_after_expiry"].reason == (
        "the certificate is dated February 1, 2026, "
        "after the general liability policy expired on January 1, 2026"
    )


def test_a_certificate_date_not_read_leaves_that_sign_unchecked() -> None:
    results = run(certificate(issued=Read()))
    assert results["forgery.issued_after_expiry"].passed
    assert "not checked" in results["forgery.issued_after_expiry"].found


def test_one_policy_number_on_two_coverage_kinds_is_flagged() -> None:
    gl = policy(number="PKG 123")
    wc = policy(WC, number="pkg-123", limits={LimitKind.EL_EACH_ACCIDENT: 1_000_000}, ai=False, letter="B")
    assert failed(run(certificate(policies=(gl, wc)))) == {
        "forgery.policy_numbers": "PKG 123 is given for general liability and workers' compensation"
    }


def test_two_policies_of_one_kind_check_the_latest_and_name_both_date_rules() -> None:
    old = policy(number="GL-1", effective=date(2025, 1, 1), expires=date(2026, 1, 1))
    results = run(certificate(policies=(old, policy(number="GL-2"), certificate().policies[1])))
    assert results["general_liability.expiry"].passed
    assert {"forgery.dates.general_liability", "forgery.dates.general_liability.2"} <= set(results)


def test_a_reviewers_waiver_satisfies_a_failed_rule() -> None:
    results = list(run(certificate(policies=(policy(),))).values())
    assert outcome(results) is CertificateStatus.FLAGGED
    waived = [
        r if r.passed else replace(r, waiver=Waiver(by="ops@example.com", at=1, reason="on file"))
        for r in results
    ]
    assert outcome(waived) is CertificateStatus.APPROVED


def test_describe_says_the_requirement_in_words() -> None:
    assert describe(replace(RULES, expiry=ExpiryRule.DAYS_LEFT, minimum_days_left=30)) == [
        "General liability: each occurrence at least $1,000,000; general aggregate at least $2,000,000; "
        "the certificate holder named as additional insured; waiver of subrogation.",
        "Workers' compensation: employer's liability each accident at least $500,000.",
        "Each policy in force with at least 30 days left.",
        "Certificate made out to ACME STAFFING.",
    ]
    assert describe(RequirementRules()) == [
        "No coverage required.",
        "Each policy in force on the day of the review.",
    ]


@given(
    st.text(alphabet=st.characters(categories=("L", "N", "P", "Zs")), min_size=1, max_size=40),
    st.sampled_from(["", " Inc.", ", LLC", " Company", " Corp", " CO."]),
)
def test_a_name_matches_itself_with_any_case_punctuation_or_suffix(name: str, suffix: str) -> None:
    if not normalise_name(name):
        return
    results = run(
        certificate(certificate_holder=Party(name=sure(f"  {name}{suffix} "))),
        replace(RULES, certificate_holder=name),
    )
    assert results["certificate_holder"].passed


@given(
    minimum=st.integers(min_value=1, max_value=10**12),
    found=st.integers(min_value=0, max_value=10**12),
)
def test_a_limit_passes_exactly_when_it_reaches_the_minimum(minimum: int, found: int) -> None:
    rules = RequirementRules(coverages=(CoverageRequirement(GL, {LimitKind.EACH_OCCURRENCE: minimum}),))
    gl = policy(limits={LimitKind.EACH_OCCURRENCE: found})
    result = run(certificate(policies=(gl,)), rules)["general_liability.each_occurrence"]
    assert result.passed is (found >= minimum)


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
)
def test_the_review_never_raises_on_any_dates(effective: date, expires: date) -> None:
    gl = policy(effective=effective, expires=expires)
    results = run(certificate(policies=(gl,), issued=sure(expires)))
    in_force = effective <= TODAY < expires
    assert results["general_liability.expiry"].passed is in_force


def test_the_naic_directory_loads_five_digit_codes_with_names() -> None:
    directory = naic_directory()
    assert len(directory) >= 40
    assert all(len(code) == 5 and code.isdigit() and name for code, name in directory.items())
    assert directory["19682"] == "Hartford Fire Insurance Company"


@pytest.mark.parametrize(
    ("code", "written"),
    [
        ("19445", "National Union Fire Ins Co Pittsburgh PA"),
        ("25682", "Travelers Indemnity Company of CT"),
        ("20427", "American Casualty Co. of Reading, Pennsylvania"),
        ("11000", "SENTINEL INSURANCE CO LTD"),
        ("22357", "Hartford Accident & Indemnity Co"),
    ],
)
def test_the_directory_names_match_as_certificates_write_them(code: str, written: str) -> None:
    insurer = Insurer("A", name=sure(written), naic=sure(code))
    results = review(certificate(insurers=(insurer,)), RULES, ReviewContext(TODAY), naic_directory())
    assert next(r for r in results if r.rule == "forgery.naic.A").passed


def test_a_directory_row_that_is_not_a_naic_code_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "naic.csv"
    bad.write_text("# comment\ncode,name\n1234567,Someone\n")
    with pytest.raises(ValueError, match="not a NAIC code"):
        read_directory(bad)


def test_a_shortened_name_that_is_exactly_an_affiliates_is_not_its_number() -> None:
    affiliate = Insurer("A", name=sure("Travelers Indemnity Company"), naic=sure("25682"))
    results = review(certificate(insurers=(affiliate,)), RULES, ReviewContext(TODAY), naic_directory())
    result = next(r for r in results if r.rule == "forgery.naic.A")
    assert result.reason == (
        "NAIC 25682 belongs to The Travelers Indemnity Company of Connecticut; "
        "Travelers Indemnity Company is NAIC 25658"
    )
