"""The review of a certificate of insurance against an insurance requirement: one ``RuleResult`` per rule,
in words a compliance reviewer reads, each saying what was required, what was found and where.

The rules (README, "Insurance requirements"):

- **Nothing is assumed.** A value the reader did not find fails the rule that needs it with the reason
  "not found on the certificate"; a value read by OCR with a confidence below ``LOW_CONFIDENCE`` (0.6)
  fails it with "read with low confidence", for a person to check against the PDF.
- **Coverage.** Per required coverage kind: ``<kind>.present``, one ``<kind>.<limit>`` per minimum limit,
  ``<kind>.additional_insured`` and ``<kind>.waiver_of_subrogation`` where required, and ``<kind>.expiry``.
  When the certificate lists two policies of one kind, the one that runs latest is checked.
- **Expiry.** A policy is in force from its effective date up to the day before its expiration date (an
  ACORD policy ends at 12:01 a.m. on that date). ``in_force_today``: in force on the day of the review;
  ``through_assignment_end``: in force today and on the assignment's last day (fails when the upload is
  for no assignment with an end); ``days_left``: in force today with at least ``minimum_days_left`` days
  before it expires. A policy whose effective date is still to come is not in force.
- **Certificate holder.** The names match after ``normalise_name``: case, punctuation and spacing are
  ignored, "&" reads "and", a leading "The" and trailing company suffixes ("Inc.", "LLC", "Ltd", "Corp.",
  "Co.", "Company", …) are dropped. Only the holder's name is compared, not the address.
- **Signs of forgery** (flagged, never approved alone; a reviewer may approve them with a reason):
  ``forgery.naic.<letter>`` a NAIC number that belongs to another insurer than the name beside it (a
  number not in the directory passes and says "not in the directory": absence proves nothing);
  ``forgery.dates.<kind>`` a policy whose dates cannot be (expiry on or before the effective date, a term
  over five years, a date before 1990 or more than ten years ahead); ``forgery.dates.certificate`` a
  certificate date before 1990 or after the day of the review; ``forgery.issued_after_expiry`` a
  certificate dated after one of its listed policies had expired; ``forgery.policy_numbers`` one policy
  number on two coverage kinds. A sign that cannot be checked because a value was not read passes with
  "not checked" (it is the requirement's rules, not the signs, that need every value).
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from domain.certificates import (
    CertificateStatus,
    CoverageKind,
    CoverageRequirement,
    ExpiryRule,
    Insurer,
    LimitKind,
    ParsedCertificate,
    PolicyEntry,
    Read,
    RequirementRules,
    ReviewContext,
    RuleResult,
)

LOW_CONFIDENCE = 0.6  # a value read with less confidence than this is for a person to check
EARLIEST_DATE = date(1990, 1, 1)  # no certificate in use dates from before this
FUTURE_YEARS = 10  # a policy date more than this many years ahead cannot be
MAX_TERM_YEARS = 5  # a policy term longer than this cannot be

NOT_FOUND = "not found on the certificate"

COVERAGE_NAMES: dict[CoverageKind, str] = {
    CoverageKind.GENERAL_LIABILITY: "General liability",
    CoverageKind.WORKERS_COMP: "Workers' compensation",
    CoverageKind.AUTO: "Auto liability",
    CoverageKind.UMBRELLA: "Umbrella / excess liability",
    CoverageKind.PROFESSIONAL: "Professional liability",
    CoverageKind.CYBER: "Cyber liability",
}

LIMIT_NAMES: dict[LimitKind, str] = {
    LimitKind.EACH_OCCURRENCE: "each occurrence",
    LimitKind.DAMAGE_TO_RENTED_PREMISES: "damage to rented premises",
    LimitKind.MEDICAL_EXPENSE: "medical expense",
    LimitKind.PERSONAL_ADVERTISING_INJURY: "personal and advertising injury",
    LimitKind.GENERAL_AGGREGATE: "general aggregate",
    LimitKind.PRODUCTS_COMPLETED_OPERATIONS: "products and completed operations aggregate",
    LimitKind.COMBINED_SINGLE_LIMIT: "combined single limit",
    LimitKind.BODILY_INJURY_PER_PERSON: "bodily injury per person",
    LimitKind.BODILY_INJURY_PER_ACCIDENT: "bodily injury per accident",
    LimitKind.PROPERTY_DAMAGE: "property damage",
    LimitKind.AGGREGATE: "aggregate",
    LimitKind.EACH_CLAIM: "each claim",
    LimitKind.EL_EACH_ACCIDENT: "employer's liability each accident",
    LimitKind.EL_DISEASE_EACH_EMPLOYEE: "employer's liability disease, each employee",
    LimitKind.EL_DISEASE_POLICY_LIMIT: "employer's liability disease, policy limit",
}

# The limits each coverage kind has on an ACORD 25 (what a requirement may set a minimum for).
LIMITS_BY_COVERAGE: dict[CoverageKind, tuple[LimitKind, ...]] = {
    CoverageKind.GENERAL_LIABILITY: (
        LimitKind.EACH_OCCURRENCE,
        LimitKind.DAMAGE_TO_RENTED_PREMISES,
        LimitKind.MEDICAL_EXPENSE,
        LimitKind.PERSONAL_ADVERTISING_INJURY,
        LimitKind.GENERAL_AGGREGATE,
        LimitKind.PRODUCTS_COMPLETED_OPERATIONS,
    ),
    CoverageKind.AUTO: (
        LimitKind.COMBINED_SINGLE_LIMIT,
        LimitKind.BODILY_INJURY_PER_PERSON,
        LimitKind.BODILY_INJURY_PER_ACCIDENT,
        LimitKind.PROPERTY_DAMAGE,
    ),
    CoverageKind.UMBRELLA: (LimitKind.EACH_OCCURRENCE, LimitKind.AGGREGATE),
    CoverageKind.WORKERS_COMP: (
        LimitKind.EL_EACH_ACCIDENT,
        LimitKind.EL_DISEASE_EACH_EMPLOYEE,
        LimitKind.EL_DISEASE_POLICY_LIMIT,
    ),
    CoverageKind.PROFESSIONAL: (LimitKind.EACH_CLAIM, LimitKind.AGGREGATE),
    CoverageKind.CYBER: (LimitKind.EACH_CLAIM, LimitKind.AGGREGATE),
}

EXPIRY_NAMES: dict[ExpiryRule, str] = {
    ExpiryRule.IN_FORCE_TODAY: "in force on the day of the review",
    ExpiryRule.THROUGH_ASSIGNMENT_END: "in force through the end of the assignment",
    ExpiryRule.DAYS_LEFT: "in force with at least a number of days left",
}

# Words dropped from the end of a company name before comparing (and "the" from its start).
_COMPANY_SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "lc",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "company",
        "plc",
        "lp",
        "llp",
        "pc",
        "pllc",
        "gmbh",
        "sa",
    }
)
# Words an insurer's name is written with or without ("Hartford Fire Ins. Co." is "Hartford Fire Insurance
# Company").
_INSURER_FILLER = frozenset(
    {"the", "of", "and", "insurance", "ins", "company", "co", "inc", "corp", "corporation", "ltd", "limited"}
)
# A state in an insurer's name is written out or abbreviated ("of Reading, PA", "of Connecticut").
_STATES = {
    "connecticut": "ct",
    "pennsylvania": "pa",
    "illinois": "il",
    "california": "ca",
    "maryland": "md",
    "texas": "tx",
    "florida": "fl",
    "ohio": "oh",
    "michigan": "mi",
    "minnesota": "mn",
    "massachusetts": "ma",
    "wisconsin": "wi",
    "indiana": "in",
}


# ----------------------------------------------------------------------------------------------- words


def dollars(amount: int) -> str:
    return f"${amount:,}"


def day(value: date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def coverage_name(kind: CoverageKind) -> str:
    return COVERAGE_NAMES[kind]


def limit_name(kind: LimitKind) -> str:
    return LIMIT_NAMES[kind]


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text.casefold().replace("&", " and ")).split()


def normalise_name(name: str) -> str:
    """A company name as compared: lower case, no punctuation, single spaces, "&" as "and", no leading
    "the", no trailing company suffixes ("Acme, Inc." and "ACME Inc" and "The Acme Company" are "acme")."""
    words = [w for w in _words(name.replace(".", "")) if w]
    while len(words) > 1 and words[-1] in _COMPANY_SUFFIXES:
        words.pop()
    if len(words) > 1 and words[0] == "the":
        words.pop(0)
    return " ".join(words)


def same_holder(required: str, found: str) -> bool:
    wanted = normalise_name(required)
    if not wanted:
        return False
    lines = [line for line in found.splitlines() if line.strip()]
    return any(normalise_name(candidate) == wanted for candidate in (found, *lines[:1]))


def _insurer_words(name: str) -> list[str]:
    words = (_STATES.get(w, w) for w in _words(name.replace(".", "")))
    return [w for w in words if w not in _INSURER_FILLER]


def same_insurer(directory_name: str, found: str) -> bool:
    """Whether an insurer's name on a certificate is the directory's, written with or without "Insurance",
    "Company", "Co.", "of", punctuation and case; a shortened name matches when it starts like the
    directory's and every word of it is in it ("Travelers Casualty" for "Travelers Casualty and Surety
    Company of America")."""
    a, b = _insurer_words(directory_name), _insurer_words(found)
    if not a or not b:
        return False
    if a == b:
        return True
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    return shorter[0] == longer[0] and set(shorter) <= set(longer)


def normalise_naic(text: str) -> str | None:
    """A NAIC company code as five digits ("19445", " 1 9445 " → "19445"); None when it is not one."""
    digits = re.sub(r"[\s-]", "", text)
    if not digits.isdigit() or not 1 <= len(digits) <= 5:
        return None
    return digits.zfill(5)


def _add_years(value: date, years: int) -> date:
    try:
        return value.replace(year=value.year + years)
    except ValueError:  # February 29th
        return value.replace(year=value.year + years, day=28)


# ----------------------------------------------------------------------------------------------- reads


def _unreadable(read: Read[Any]) -> str | None:
    """Why a read value cannot be relied on, or None when it can."""
    if not read.found:
        return NOT_FOUND
    if read.confidence < LOW_CONFIDENCE:
        return (
            f"read with low confidence ({read.confidence:.0%}); a person should check it on the certificate"
        )
    return None


def _found_words(read: Read[Any], shown: str) -> str:
    return shown if read.found else "not found"


def _policy_for(parsed: ParsedCertificate, kind: CoverageKind) -> PolicyEntry | None:
    """The policy of a kind that runs latest (the first of them when no expiry was read)."""
    candidates = [p for p in parsed.policies if p.coverage is kind]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.expires.value or date.min, -candidates.index(p)))


def _insurer_of(parsed: ParsedCertificate, policy: PolicyEntry) -> Insurer | None:
    letter = (policy.insurer_letter.value or "").strip().upper()
    return next((i for i in parsed.insurers if i.letter.upper() == letter), None)


def _policy_words(parsed: ParsedCertificate, policy: PolicyEntry) -> str:
    number = policy.policy_number.value or "number not found"
    insurer = _insurer_of(parsed, policy)
    by = f" with {insurer.name.value}" if insurer is not None and insurer.name.value else ""
    return f"policy {number}{by}"


# ----------------------------------------------------------------------------------------------- rules


def _result(
    rule: str, description: str, required: str, found: str, where: str = "", reason: str = ""
) -> RuleResult:
    return RuleResult(
        rule=rule,
        description=description,
        passed=not reason,
        required=required,
        found=found,
        where=where,
        reason=reason,
    )


def _absent(rule: str, description: str, required: str, kind: CoverageKind) -> RuleResult:
    return _result(
        rule,
        description,
        required,
        "no such policy",
        reason=f"no {coverage_name(kind).lower()} policy on the certificate",
    )


def _limit_rule(kind: CoverageKind, limit: LimitKind, minimum: int, policy: PolicyEntry | None) -> RuleResult:
    rule = f"{kind.value}.{limit.value}"
    required = f"at least {dollars(minimum)}"
    description = f"{coverage_name(kind)}: {limit_name(limit)} at least {dollars(minimum)}"
    if policy is None:
        return _absent(rule, description, required, kind)
    read = policy.limits.get(limit, Read())
    found = _found_words(read, dollars(read.value) if read.value is not None else "")
    if (why := _unreadable(read)) is not None:
        return _result(rule, description, required, found, read.where, why)
    assert read.value is not None
    reason = (
        "" if read.value >= minimum else f"{dollars(read.value)} is less than the {dollars(minimum)} required"
    )
    return _result(rule, description, required, found, read.where, reason)


def _flag_rule(kind: CoverageKind, what: str, label: str, read: Read[bool] | None) -> RuleResult:
    rule = f"{kind.value}.{what}"
    description = f"{coverage_name(kind)}: {label}"
    required = "yes"
    if read is None:
        return _absent(rule, description, required, kind)
    found = _found_words(read, "yes" if read.value else "no")
    if (why := _unreadable(read)) is not None:
        return _result(rule, description, required, found, read.where, why)
    reason = "" if read.value else f"the certificate does not show {label}"
    return _result(rule, description, required, found, read.where, reason)


def _expiry_required(rules: RequirementRules, context: ReviewContext) -> str:
    if rules.expiry is ExpiryRule.THROUGH_ASSIGNMENT_END:
        if context.assignment_ends is None:
            return "in force through the end of the assignment"
        return f"in force through {day(context.assignment_ends)}, the end of the assignment"
    if rules.expiry is ExpiryRule.DAYS_LEFT:
        return f"in force with at least {rules.minimum_days_left} days left"
    return f"in force on {day(context.today)}"


def _expiry_rule(
    kind: CoverageKind, rules: RequirementRules, context: ReviewContext, policy: PolicyEntry | None
) -> RuleResult:
    rule = f"{kind.value}.expiry"
    description = f"{coverage_name(kind)}: {EXPIRY_NAMES[rules.expiry]}"
    required = _expiry_required(rules, context)
    if policy is None:
        return _absent(rule, description, required, kind)
    effective, expires = policy.effective, policy.expires
    found = (
        f"effective {day(effective.value) if effective.value else 'date not found'}, "
        f"expires {day(expires.value) if expires.value else 'date not found'}"
    )
    where = expires.where or effective.where
    for label, read in (("expiration date", expires), ("effective date", effective)):
        if (why := _unreadable(read)) is not None:
            return _result(rule, description, required, found, read.where, f"{label} {why}")
    assert effective.value is not None and expires.value is not None
    today = context.today
    if effective.value > today:
        return _result(
            rule,
            description,
            required,
            found,
            effective.where,
            f"not in force yet: it starts on {day(effective.value)}",
        )
    if expires.value <= today:
        return _result(rule, description, required, found, where, f"expired on {day(expires.value)}")
    reason = ""
    if rules.expiry is ExpiryRule.THROUGH_ASSIGNMENT_END:
        ends = context.assignment_ends
        if ends is None:
            reason = "there is no assignment end date to compare with; a person should check the dates"
        elif expires.value <= ends:
            reason = f"expires on {day(expires.value)}, before the assignment ends on {day(ends)}"
    elif rules.expiry is ExpiryRule.DAYS_LEFT:
        left = (expires.value - today).days
        if left < rules.minimum_days_left:
            reason = (
                f"expires on {day(expires.value)}: {left} days left, "
                f"fewer than the {rules.minimum_days_left} required"
            )
    return _result(rule, description, required, found, where, reason)


def _coverage_rules(
    parsed: ParsedCertificate, wanted: CoverageRequirement, rules: RequirementRules, context: ReviewContext
) -> list[RuleResult]:
    kind = wanted.coverage
    policy = _policy_for(parsed, kind)
    present = _result(
        f"{kind.value}.present",
        f"{coverage_name(kind)} policy on the certificate",
        "a policy",
        _policy_words(parsed, policy) if policy else "no such policy",
        policy.policy_number.where if policy else "",
        "" if policy else NOT_FOUND,
    )
    results = [present]
    for limit, minimum in wanted.minimum_limits.items():
        results.append(_limit_rule(kind, LimitKind(limit), minimum, policy))
    if wanted.additional_insured:
        read = policy.additional_insured if policy else None
        results.append(_flag_rule(kind, "additional_insured", "the holder named as additional insured", read))
    if wanted.waiver_of_subrogation:
        read = policy.waiver_of_subrogation if policy else None
        results.append(_flag_rule(kind, "waiver_of_subrogation", "waiver of subrogation", read))
    results.append(_expiry_rule(kind, rules, context, policy))
    return results


def _holder_rule(required_name: str, parsed: ParsedCertificate) -> RuleResult:
    read = parsed.certificate_holder.name
    description = f"Certificate holder is {required_name}"
    found = _found_words(read, read.value or "")
    if (why := _unreadable(read)) is not None:
        return _result("certificate_holder", description, required_name, found, read.where, why)
    assert read.value is not None
    reason = (
        ""
        if same_holder(required_name, read.value)
        else f"made out to {read.value!r}, not to {required_name!r}"
    )
    return _result("certificate_holder", description, required_name, found, read.where, reason)


# ----------------------------------------------------------------------------------------------- forgery


def _naic_rule(insurer: Insurer, insurers: Mapping[str, str]) -> RuleResult:
    rule = f"forgery.naic.{insurer.letter.upper()}"
    description = f"Insurer {insurer.letter.upper()}: the NAIC number belongs to the insurer named"
    required = "a NAIC number matching the insurer's name"
    name, naic = insurer.name, insurer.naic
    shown_name = name.value or "name not found"
    if not naic.found or not name.found:
        missing = "NAIC number" if not naic.found else "insurer's name"
        found = f"{shown_name}, NAIC {naic.value or 'not found'}"
        return _result(
            rule, description, required, f"{found} (the {missing} was not read: not checked)", naic.where
        )
    assert naic.value is not None and name.value is not None
    found = f"{name.value}, NAIC {naic.value}"
    code = normalise_naic(naic.value)
    if code is None:
        return _result(
            rule,
            description,
            required,
            found,
            naic.where,
            f"{naic.value!r} is not a NAIC number (five digits)",
        )
    owner = insurers.get(code)
    if owner is None:
        return _result(
            rule, description, required, f"{found} (not in the directory: not checked)", naic.where
        )
    exact = _insurer_words(name.value)
    if same_insurer(owner, name.value):
        # A shortened name matches the directory's, unless it is exactly another insurer's: "Travelers
        # Indemnity Company" with the number of "The Travelers Indemnity Company of Connecticut".
        other = next(
            (
                (other_code, other_name)
                for other_code, other_name in insurers.items()
                if other_code != code and _insurer_words(other_name) == exact != _insurer_words(owner)
            ),
            None,
        )
        if other is None:
            return _result(rule, description, required, f"{found} ({owner} in the directory)", naic.where)
        return _result(
            rule,
            description,
            required,
            found,
            naic.where,
            f"NAIC {code} belongs to {owner}; {name.value} is NAIC {other[0]}",
        )
    if (why := _unreadable(naic)) is not None or (why := _unreadable(name)) is not None:
        return _result(
            rule, description, required, found, naic.where, f"the NAIC number or the name was {why}"
        )
    return _result(
        rule, description, required, found, naic.where, f"NAIC {code} belongs to {owner}, not to {name.value}"
    )


def _date_problems(effective: date | None, expires: date | None, context: ReviewContext) -> list[str]:
    problems: list[str] = []
    latest = _add_years(context.today, FUTURE_YEARS)
    for label, value in (("effective date", effective), ("expiration date", expires)):
        if value is not None and value < EARLIEST_DATE:
            problems.append(f"the {label} {day(value)} is before {EARLIEST_DATE.year}")
        elif value is not None and value > latest:
            problems.append(f"the {label} {day(value)} is more than {FUTURE_YEARS} years ahead")
    if effective is not None and expires is not None:
        if expires <= effective:
            problems.append(f"it expires ({day(expires)}) on or before it takes effect ({day(effective)})")
        elif expires > _add_years(effective, MAX_TERM_YEARS):
            problems.append(
                f"its term, {day(effective)} to {day(expires)}, is longer than {MAX_TERM_YEARS} years"
            )
    return problems


def _policy_names(policies: Sequence[PolicyEntry]) -> list[str]:
    """``general_liability``, and ``auto.2`` for a second auto policy."""
    seen: dict[CoverageKind, int] = {}
    names: list[str] = []
    for policy in policies:
        seen[policy.coverage] = seen.get(policy.coverage, 0) + 1
        count = seen[policy.coverage]
        names.append(policy.coverage.value if count == 1 else f"{policy.coverage.value}.{count}")
    return names


def _dates_rules(parsed: ParsedCertificate, context: ReviewContext) -> list[RuleResult]:
    results: list[RuleResult] = []
    issued = parsed.issued
    required = "dates that can be"
    problems: list[str] = []
    if issued.value is not None:
        if issued.value < EARLIEST_DATE:
            problems.append(f"dated {day(issued.value)}, before {EARLIEST_DATE.year}")
        elif issued.value > context.today:
            problems.append(f"dated {day(issued.value)}, after the day of the review")
    results.append(
        _result(
            "forgery.dates.certificate",
            "The certificate's date can be",
            "dated no later than the review, after 1989",
            day(issued.value) if issued.value else "not found (not checked)",
            issued.where,
            "; ".join(problems),
        )
    )
    for name, policy in zip(_policy_names(parsed.policies), parsed.policies, strict=True):
        effective, expires = policy.effective.value, policy.expires.value
        problems = _date_problems(effective, expires, context)
        results.append(
            _result(
                f"forgery.dates.{name}",
                f"{coverage_name(policy.coverage)}: the policy's dates can be",
                required,
                f"effective {day(effective) if effective else 'not found'}, "
                f"expires {day(expires) if expires else 'not found'}",
                policy.expires.where or policy.effective.where,
                "; ".join(problems),
            )
        )
    return results


def _issued_after_expiry_rule(parsed: ParsedCertificate) -> RuleResult:
    issued = parsed.issued.value
    description = "The certificate is dated before its policies expired"
    required = "dated while every listed policy was in force or before it"
    if issued is None:
        return _result(
            "forgery.issued_after_expiry", description, required, "certificate date not found (not checked)"
        )
    lapsed = [
        f"the {coverage_name(p.coverage).lower()} policy expired on {day(p.expires.value)}"
        for p in parsed.policies
        if p.expires.value is not None and p.expires.value < issued
    ]
    reason = f"the certificate is dated {day(issued)}, after {'; '.join(lapsed)}" if lapsed else ""
    return _result(
        "forgery.issued_after_expiry",
        description,
        required,
        f"dated {day(issued)}",
        parsed.issued.where,
        reason,
    )


def _normalise_policy_number(number: str) -> str:
    return re.sub(r"[\s\-./]", "", number).upper()


def _policy_numbers_rule(parsed: ParsedCertificate) -> RuleResult:
    kinds: dict[str, set[CoverageKind]] = {}
    shown: dict[str, str] = {}
    for policy in parsed.policies:
        if policy.policy_number.value:
            key = _normalise_policy_number(policy.policy_number.value)
            if key:
                kinds.setdefault(key, set()).add(policy.coverage)
                shown.setdefault(key, policy.policy_number.value)
    shared = [
        f"{shown[key]} is given for {' and '.join(sorted(coverage_name(k).lower() for k in found))}"
        for key, found in kinds.items()
        if len(found) > 1
    ]
    return _result(
        "forgery.policy_numbers",
        "Each policy number belongs to one coverage",
        "a different policy number per coverage",
        f"{len(kinds)} policy numbers" if not shared else "; ".join(shared),
        reason="; ".join(shared),
    )


# ----------------------------------------------------------------------------------------------- review


def review(
    parsed: ParsedCertificate, rules: RequirementRules, context: ReviewContext, insurers: Mapping[str, str]
) -> list[RuleResult]:
    """One result per rule: the requirement's (coverages, limits, endorsements, expiry, holder), then the
    signs of forgery. ``insurers`` maps a five-digit NAIC code to the insurer's name."""
    results: list[RuleResult] = []
    for wanted in rules.coverages:
        results.extend(_coverage_rules(parsed, wanted, rules, context))
    if rules.certificate_holder:
        results.append(_holder_rule(rules.certificate_holder, parsed))
    results.extend(_naic_rule(insurer, insurers) for insurer in parsed.insurers)
    results.extend(_dates_rules(parsed, context))
    results.append(_issued_after_expiry_rule(parsed))
    results.append(_policy_numbers_rule(parsed))
    return results


def outcome(results: Iterable[RuleResult]) -> CertificateStatus:
    """APPROVED when every rule passed or was waived by a reviewer, else FLAGGED."""
    return CertificateStatus.APPROVED if all(r.satisfied for r in results) else CertificateStatus.FLAGGED


def describe(rules: RequirementRules) -> list[str]:
    """The requirement in words, one line per coverage then the expiry and the holder."""
    lines: list[str] = []
    for wanted in rules.coverages:
        parts = [
            f"{limit_name(LimitKind(limit))} at least {dollars(minimum)}"
            for limit, minimum in wanted.minimum_limits.items()
        ]
        if wanted.additional_insured:
            parts.append("the certificate holder named as additional insured")
        if wanted.waiver_of_subrogation:
            parts.append("waiver of subrogation")
        detail = "; ".join(parts) if parts else "any limits"
        lines.append(f"{coverage_name(wanted.coverage)}: {detail}.")
    if not rules.coverages:
        lines.append("No coverage required.")
    if rules.expiry is ExpiryRule.DAYS_LEFT:
        lines.append(f"Each policy in force with at least {rules.minimum_days_left} days left.")
    elif rules.expiry is ExpiryRule.THROUGH_ASSIGNMENT_END:
        lines.append("Each policy in force through the end of the assignment.")
    else:
        lines.append("Each policy in force on the day of the review.")
    if rules.certificate_holder:
        holder = rules.certificate_holder
        lines.append(f"Certificate made out to {holder}{'' if holder.endswith('.') else '.'}")
    return lines
