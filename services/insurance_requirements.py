"""Insurance requirements: what an organization requires of the certificates its contractors bring, in each
environment. One is the default; others apply to the jobs of some entities or some job categories. The
rules are stored as domain.certificates.RequirementRules (JSON) and checked by domain.certificate_review.

Exactly one requirement of a tenant is its default once it has any: the first one made is, setting another
as the default unsets the old one (under a lock on the organization's row, so two at once cannot both
win), and the default is neither unset nor deleted while others remain: another is made the default first.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, TypeAdapter
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from common.schemas import Strict
from db.models import Entity, InsuranceRequirement, JobCategory, Organization
from domain.certificate_review import LIMITS_BY_COVERAGE, describe
from domain.certificates import CoverageKind, CoverageRequirement, ExpiryRule, LimitKind, RequirementRules
from domain.errors import DomainError, Refusal, conflict, invalid
from services import audit
from services.audit import Actor
from services.catalog import approved_categories
from services.lookups import Page, get_owned, list_page, now, scoped
from services.tenancy import Tenant

MAX_LIMIT = 1_000_000_000  # whole dollars: no certificate shows a limit over a billion dollars
MAX_DAYS_LEFT = 3650
MAX_ATTACHED = 100
NO_REQUIREMENT = "no_insurance_requirement_found"  # the official client's NoInsuranceRequirementFoundError

Dollars = Annotated[int, Field(strict=True, ge=1, le=MAX_LIMIT)]
Days = Annotated[int, Field(strict=True, ge=1, le=MAX_DAYS_LEFT)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Reference = Annotated[str, Field(min_length=1, max_length=80)]
_RULES = TypeAdapter(RequirementRules)
Requirement = InsuranceRequirement  # for the fronts, which import no db module


class CoverageIn(Strict):
    coverage: CoverageKind
    minimum_limits: dict[LimitKind, Dollars] = Field(default_factory=dict)
    additional_insured: Annotated[bool, Field(strict=True)] = False
    waiver_of_subrogation: Annotated[bool, Field(strict=True)] = False


class ExpiryIn(Strict):
    rule: ExpiryRule = ExpiryRule.IN_FORCE_TODAY
    minimum_days_left: Days | None = None


class RequirementIn(Strict):
    name: Name
    is_default: Annotated[bool, Field(strict=True)] = False
    coverages: list[CoverageIn] = Field(default_factory=list, max_length=len(CoverageKind))
    expiry: ExpiryIn = Field(default_factory=ExpiryIn)
    certificate_holder: Annotated[str, Field(max_length=200)] | None = None
    entity_ids: list[Reference] = Field(default_factory=list, max_length=MAX_ATTACHED)
    category_codes: list[Reference] = Field(default_factory=list, max_length=MAX_ATTACHED)


class RequirementUpdate(Strict):
    """What a PUT changes: the fields given (``coverages`` and ``expiry`` replace the old ones whole)."""

    name: Name | None = None
    is_default: Annotated[bool, Field(strict=True)] | None = None
    coverages: list[CoverageIn] | None = Field(None, max_length=len(CoverageKind))
    expiry: ExpiryIn | None = None
    certificate_holder: Annotated[str, Field(max_length=200)] | None = None
    entity_ids: list[Reference] | None = Field(None, max_length=MAX_ATTACHED)
    category_codes: list[Reference] | None = Field(None, max_length=MAX_ATTACHED)


# The rules ------------------------------------------------------------------------------------------------


def _rules(coverages: Sequence[CoverageIn], expiry: ExpiryIn, holder: str | None) -> RequirementRules:
    """The input as domain rules, refused where it cannot be one (the API's messages)."""
    seen: set[CoverageKind] = set()
    for index, wanted in enumerate(coverages):
        if wanted.coverage in seen:
            raise invalid(f"coverages: {wanted.coverage.value} is listed twice", f"coverages[{index}]")
        seen.add(wanted.coverage)
        allowed = LIMITS_BY_COVERAGE[wanted.coverage]
        for limit in wanted.minimum_limits:
            if limit not in allowed:
                names = ", ".join(sorted(k.value for k in allowed))
                raise invalid(
                    f"coverages[{index}].minimum_limits: {limit.value} is not a limit of "
                    f"{wanted.coverage.value} (its limits: {names})",
                    f"coverages[{index}].minimum_limits",
                )
    if expiry.rule is ExpiryRule.DAYS_LEFT and expiry.minimum_days_left is None:
        raise invalid(
            "expiry.minimum_days_left: required with the days_left rule (1 or more)",
            "expiry.minimum_days_left",
        )
    if expiry.rule is not ExpiryRule.DAYS_LEFT and expiry.minimum_days_left is not None:
        raise invalid("expiry.minimum_days_left: only with the days_left rule", "expiry.minimum_days_left")
    return RequirementRules(
        coverages=tuple(
            _coverage(c.coverage, c.minimum_limits, c.additional_insured, c.waiver_of_subrogation)
            for c in coverages
        ),
        expiry=expiry.rule,
        minimum_days_left=expiry.minimum_days_left or 0,
        certificate_holder=(holder or "").strip() or None,
    )


def _coverage(
    kind: CoverageKind, limits: Mapping[LimitKind, int], additional_insured: bool, waiver: bool
) -> CoverageRequirement:
    order = list(LimitKind)
    ordered = dict(sorted(limits.items(), key=lambda item: order.index(item[0])))
    return CoverageRequirement(kind, ordered, additional_insured, waiver)


def rules_of(requirement: InsuranceRequirement) -> RequirementRules:
    return _RULES.validate_python(requirement.rules)


def _stored(rules: RequirementRules) -> dict[str, Any]:
    stored: dict[str, Any] = _RULES.dump_python(rules, mode="json")
    return stored


# Attachments ----------------------------------------------------------------------------------------------


def _entity_ids(session: Session, tenant: Tenant, given: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(given))
    if not wanted:
        return []
    found = set(
        session.scalars(scoped(Entity, tenant).where(Entity.id.in_(wanted)).with_only_columns(Entity.id))
    )
    for entity_id in wanted:
        if entity_id not in found:
            raise invalid(f"entity_ids: no such entity '{entity_id}'", "entity_ids", "invalid_entity_id")
    return wanted


def _category(session: Session, code: str) -> JobCategory | None:
    """A job category by its public code (``jc_…``) or its short name (``photographer``)."""
    return session.get(JobCategory, code) or session.scalar(
        select(JobCategory).where(JobCategory.code == code)
    )


def _category_codes(session: Session, given: Sequence[str]) -> list[str]:
    codes: list[str] = []
    for code in given:
        category = _category(session, code)
        if category is None:
            raise invalid(
                f"category_codes: no such job category code '{code}'",
                "category_codes",
                "invalid_job_category_code",
            )
        if category.id not in codes:
            codes.append(category.id)
    return codes


# Changes --------------------------------------------------------------------------------------------------


def _lock_defaults(session: Session, tenant: Tenant) -> None:
    """Serialises changes to a tenant's default (the organization's row, locked where the database can)."""
    session.execute(
        select(Organization.id).where(Organization.id == tenant.organization_id).with_for_update()
    )


def _others(tenant: Tenant, requirement_id: str) -> Select[InsuranceRequirement]:
    return scoped(InsuranceRequirement, tenant).where(InsuranceRequirement.id != requirement_id)


def _make_default(session: Session, tenant: Tenant, requirement: InsuranceRequirement) -> None:
    session.execute(
        update(InsuranceRequirement)
        .where(
            InsuranceRequirement.organization_id == tenant.organization_id,
            InsuranceRequirement.environment == tenant.environment,
            InsuranceRequirement.id != requirement.id,
            InsuranceRequirement.is_default.is_(True),
        )
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )
    requirement.is_default = True


def _has_others(session: Session, tenant: Tenant, requirement_id: str) -> bool:
    return session.scalar(_others(tenant, requirement_id).limit(1)) is not None


def create_requirement(
    session: Session, tenant: Tenant, body: RequirementIn, actor: Actor | None = None
) -> InsuranceRequirement:
    rules = _rules(body.coverages, body.expiry, body.certificate_holder)
    requirement = InsuranceRequirement.new(
        tenant,
        name=body.name,
        is_default=False,
        rules=_stored(rules),
        entity_ids=_entity_ids(session, tenant, body.entity_ids),
        category_codes=_category_codes(session, body.category_codes),
    )
    _lock_defaults(session, tenant)
    session.add(requirement)
    first = not _has_others(session, tenant, requirement.id)
    if body.is_default or first:
        _make_default(session, tenant, requirement)
    audit.record_change(
        session,
        tenant,
        actor,
        "insurance_requirement.created",
        requirement.id,
        name=requirement.name,
        is_default=requirement.is_default,
    )
    session.commit()
    return requirement


def update_requirement(
    session: Session, tenant: Tenant, requirement_id: str, body: RequirementUpdate, actor: Actor | None = None
) -> InsuranceRequirement:
    requirement = get_requirement(session, tenant, requirement_id)
    changes = body.model_dump(exclude_unset=True)
    for required in ("name", "is_default"):
        if required in changes and changes[required] is None:
            raise invalid(f"{required}: cannot be removed", required)
    old = rules_of(requirement)
    if {"coverages", "expiry", "certificate_holder"} & changes.keys():
        coverages = body.coverages if body.coverages is not None else _coverages_in(old)
        expiry = body.expiry if "expiry" in changes and body.expiry is not None else _expiry_in(old)
        holder = body.certificate_holder if "certificate_holder" in changes else old.certificate_holder
        requirement.rules = _stored(_rules(coverages, expiry, holder))
    if body.name is not None:
        requirement.name = body.name
    if "entity_ids" in changes:
        requirement.entity_ids = _entity_ids(session, tenant, body.entity_ids or [])
    if "category_codes" in changes:
        requirement.category_codes = _category_codes(session, body.category_codes or [])
    _lock_defaults(session, tenant)
    if body.is_default is True:
        _make_default(session, tenant, requirement)
    elif body.is_default is False and requirement.is_default:
        raise conflict(
            "insurance_requirement_is_default",
            "This is the default requirement: make another one the default instead",
        )
    audit.record_change(
        session, tenant, actor, "insurance_requirement.updated", requirement.id, fields=sorted(changes)
    )
    session.commit()
    return requirement


def _coverages_in(rules: RequirementRules) -> list[CoverageIn]:
    return [
        CoverageIn(
            coverage=c.coverage,
            minimum_limits=dict(c.minimum_limits),
            additional_insured=c.additional_insured,
            waiver_of_subrogation=c.waiver_of_subrogation,
        )
        for c in rules.coverages
    ]


def _expiry_in(rules: RequirementRules) -> ExpiryIn:
    days = rules.minimum_days_left if rules.expiry is ExpiryRule.DAYS_LEFT else None
    return ExpiryIn(rule=rules.expiry, minimum_days_left=days)


def delete_requirement(
    session: Session, tenant: Tenant, requirement_id: str, actor: Actor | None = None
) -> InsuranceRequirement:
    requirement = get_requirement(session, tenant, requirement_id)
    _lock_defaults(session, tenant)
    if requirement.is_default and _has_others(session, tenant, requirement.id):
        raise conflict(
            "insurance_requirement_is_default",
            "This is the default requirement: make another one the default before deleting it",
        )
    requirement.deleted_at = now()
    requirement.is_default = False
    audit.record_change(
        session, tenant, actor, "insurance_requirement.deleted", requirement.id, name=requirement.name
    )
    session.commit()
    return requirement


# Reads ----------------------------------------------------------------------------------------------------


def get_requirement(session: Session, tenant: Tenant, requirement_id: str) -> InsuranceRequirement:
    return get_owned(
        session,
        InsuranceRequirement,
        tenant,
        requirement_id,
        "invalid_insurance_requirement_id",
        "insurance requirement",
    )


def list_requirements(session: Session, tenant: Tenant, page: Page) -> Sequence[InsuranceRequirement]:
    return list_page(session, scoped(InsuranceRequirement, tenant), InsuranceRequirement, page)


def requirement_for(
    session: Session,
    owner: Tenant,
    *,
    requirement_id: str | None = None,
    entity_id: str | None = None,
    category_code: str | None = None,
) -> InsuranceRequirement:
    """The requirement a certificate is reviewed against: the one named, else one attached to the job's
    entity, else to its job category (``jc_…`` or the short code), else the default (the oldest one
    attached wins a tie). None of these: ``no_insurance_requirement_found``."""
    query = scoped(InsuranceRequirement, owner)
    if requirement_id:
        found = session.scalar(query.where(InsuranceRequirement.id == requirement_id))
        if found is None:
            raise DomainError(
                NO_REQUIREMENT,
                f"No such insurance requirement: '{requirement_id}'",
                "requirement",
                Refusal.NOT_FOUND,
            )
        return found
    candidates = list(session.scalars(query.order_by(InsuranceRequirement.seq.asc())))
    if entity_id:
        for requirement in candidates:
            if entity_id in (requirement.entity_ids or []):
                return requirement
    if category_code:
        category = _category(session, category_code)
        codes = {category_code} | ({category.id, category.code} if category is not None else set())
        for requirement in candidates:
            if codes & set(requirement.category_codes or []):
                return requirement
    for requirement in candidates:
        if requirement.is_default:
            return requirement
    raise DomainError(
        NO_REQUIREMENT,
        "No insurance requirement applies: create one (POST /insurance_requirements) and make it the default",
        "requirement",
        Refusal.NOT_FOUND,
    )


def description(requirement: InsuranceRequirement) -> list[str]:
    return describe(rules_of(requirement))


# The dashboard's page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequirementsOverview:
    requirements: list[tuple[InsuranceRequirement, RequirementRules]]  # the default first, then newest first
    entities: list[tuple[str, str]]  # (id, name), by name: what a requirement may be attached to
    categories: list[tuple[str, str]]  # (jc_ code, name), by name

    def name_of(self, reference: str) -> str:
        return dict(self.entities + self.categories).get(reference, reference)


SHOWN = 200


def requirements_overview(session: Session, tenant: Tenant) -> RequirementsOverview:
    rows = list(
        session.scalars(
            scoped(InsuranceRequirement, tenant)
            .order_by(InsuranceRequirement.is_default.desc(), InsuranceRequirement.seq.desc())
            .limit(SHOWN)
        )
    )
    entities = session.execute(
        scoped(Entity, tenant).with_only_columns(Entity.id, Entity.name).order_by(Entity.name).limit(SHOWN)
    ).all()
    categories = [(c.id, c.name) for c in approved_categories(session, tenant)]
    return RequirementsOverview(
        requirements=[(r, rules_of(r)) for r in rows],
        entities=[(row[0], row[1]) for row in entities],
        categories=categories,
    )


def requirement_overview(
    session: Session, tenant: Tenant, requirement_id: str
) -> tuple[InsuranceRequirement, RequirementRules, RequirementsOverview]:
    requirement = get_requirement(session, tenant, requirement_id)
    return requirement, rules_of(requirement), requirements_overview(session, tenant)
