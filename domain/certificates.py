"""Certificates of insurance that contractors bring: what a reader found on one, what a platform requires,
and what a review concluded. Pure data; the rules that compare them are in domain/certificate_review.py.

Every value read off a certificate is a ``Read``: the value, or None where it was not found (never a guess),
how sure the reader is of it (1.0 for a form field or a text layer, the OCR engine's confidence for a scan)
and where on the certificate it was read, so a reviewer can check it against the PDF.
"""

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


class CertificateStatus(StrEnum):
    PENDING = "pending"  # uploaded; its review has not started
    PROCESSING = "processing"  # being read and checked
    APPROVED = "approved"  # every rule passed (or a reviewer approved it)
    FLAGGED = "flagged"  # a rule failed, or a sign of forgery: a reviewer decides
    DENIED = "denied"  # a reviewer's decision only
    ERROR = "error"  # the file could not be read (the reason says why)


class CoverageKind(StrEnum):
    GENERAL_LIABILITY = "general_liability"
    WORKERS_COMP = "workers_comp"
    AUTO = "auto"
    UMBRELLA = "umbrella"  # umbrella or excess liability
    PROFESSIONAL = "professional"
    CYBER = "cyber"


class LimitKind(StrEnum):
    """The limits an ACORD 25 lists, per coverage; amounts are whole dollars."""

    EACH_OCCURRENCE = "each_occurrence"
    DAMAGE_TO_RENTED_PREMISES = "damage_to_rented_premises"
    MEDICAL_EXPENSE = "medical_expense"
    PERSONAL_ADVERTISING_INJURY = "personal_advertising_injury"
    GENERAL_AGGREGATE = "general_aggregate"
    PRODUCTS_COMPLETED_OPERATIONS = "products_completed_operations"
    COMBINED_SINGLE_LIMIT = "combined_single_limit"  # auto
    BODILY_INJURY_PER_PERSON = "bodily_injury_per_person"  # auto
    BODILY_INJURY_PER_ACCIDENT = "bodily_injury_per_accident"  # auto
    PROPERTY_DAMAGE = "property_damage"  # auto
    AGGREGATE = "aggregate"  # umbrella, professional, cyber
    EACH_CLAIM = "each_claim"  # professional, cyber
    EL_EACH_ACCIDENT = "el_each_accident"  # workers' comp: employer's liability
    EL_DISEASE_EACH_EMPLOYEE = "el_disease_each_employee"
    EL_DISEASE_POLICY_LIMIT = "el_disease_policy_limit"


class ReadMethod(StrEnum):
    FORM_FIELDS = "form_fields"  # a fillable PDF's fields
    TEXT_LAYER = "text_layer"  # a flattened PDF's text, read by position
    OCR = "ocr"  # a scan, read by optical character recognition


@dataclass(frozen=True)
class Read(Generic[T]):
    value: T | None = None  # None: not found on the certificate
    confidence: float = 0.0  # 0..1
    where: str = ""  # e.g. "form field Form_CompletionDate_A", "page 1 at (420, 96)", "OCR page 1 line 12"

    @property
    def found(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Party:
    name: Read[str] = field(default_factory=Read)
    address: Read[str] = field(default_factory=Read)


@dataclass(frozen=True)
class Insurer:
    letter: str  # A to F, as the certificate's policies refer to it
    name: Read[str] = field(default_factory=Read)
    naic: Read[str] = field(default_factory=Read)  # the five-digit NAIC company code


@dataclass(frozen=True)
class PolicyEntry:
    coverage: CoverageKind
    insurer_letter: Read[str] = field(default_factory=Read)
    policy_number: Read[str] = field(default_factory=Read)
    effective: Read[date] = field(default_factory=Read)
    expires: Read[date] = field(default_factory=Read)
    limits: dict[LimitKind, Read[int]] = field(default_factory=dict)
    additional_insured: Read[bool] = field(default_factory=Read)  # ACORD's ADDL INSD column
    waiver_of_subrogation: Read[bool] = field(default_factory=Read)  # ACORD's SUBR WVD column


@dataclass(frozen=True)
class ParsedCertificate:
    """What a reader found on one certificate."""

    method: ReadMethod
    form: str  # "ACORD 25", "gigcover", or "unknown"
    pages: int
    issued: Read[date] = field(default_factory=Read)  # the date the certificate is dated (issued)
    producer: Party = field(default_factory=Party)
    insured: Party = field(default_factory=Party)
    insurers: tuple[Insurer, ...] = ()
    policies: tuple[PolicyEntry, ...] = ()
    certificate_holder: Party = field(default_factory=Party)
    description: Read[str] = field(default_factory=Read)  # description of operations


class ExpiryRule(StrEnum):
    IN_FORCE_TODAY = "in_force_today"
    THROUGH_ASSIGNMENT_END = "through_assignment_end"  # in force until the assignment the upload is for ends
    DAYS_LEFT = "days_left"  # in force for at least ``minimum_days_left`` more days


@dataclass(frozen=True)
class CoverageRequirement:
    coverage: CoverageKind
    minimum_limits: dict[LimitKind, int] = field(default_factory=dict)  # whole dollars
    additional_insured: bool = False
    waiver_of_subrogation: bool = False


@dataclass(frozen=True)
class RequirementRules:
    """What an organization requires of a certificate (an insurance requirement's rules)."""

    coverages: tuple[CoverageRequirement, ...] = ()
    expiry: ExpiryRule = ExpiryRule.IN_FORCE_TODAY
    minimum_days_left: int = 0  # with ExpiryRule.DAYS_LEFT
    certificate_holder: str | None = None  # the name the certificate must be made out to


@dataclass(frozen=True)
class ReviewContext:
    """What a review compares against besides the certificate: today, and the assignment's end if any."""

    today: date
    assignment_ends: date | None = None


@dataclass(frozen=True)
class Waiver:
    """A reviewer's approval of one failed rule, with the reason (audited)."""

    by: str  # the member's email
    at: int  # unix seconds
    reason: str


@dataclass(frozen=True)
class RuleResult:
    rule: str  # a stable name, e.g. "general_liability.each_occurrence", "forgery.naic"
    description: str  # in words, e.g. "General liability: each occurrence at least $1,000,000"
    passed: bool
    required: str  # what the rule asked for, in words
    found: str  # what the certificate shows, in words ("not found" where it could not be read)
    where: str = ""  # where on the certificate it was read
    reason: str = ""  # why it failed, in words
    waiver: Waiver | None = None

    @property
    def satisfied(self) -> bool:
        return self.passed or self.waiver is not None
