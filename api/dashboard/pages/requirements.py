"""Insurance requirements for compliance staff who do not write code: each requirement in words, and a form
(a box per coverage, its minimum limits in dollars, the expiry rule, the certificate holder, endorsements,
the entities and job categories it applies to, the default) that calls the service the API's
/insurance_requirements calls, with its messages. Everyone reads; operators and admins change, audited."""

import re
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.dashboard.auth import CurrentViewer, Operator, Viewer
from api.dashboard.rendering import form_model, page, redirect, refused
from api.deps import DbSession
from domain.certificate_review import COVERAGE_NAMES, EXPIRY_NAMES, LIMIT_NAMES, LIMITS_BY_COVERAGE, describe
from domain.certificates import CoverageKind, ExpiryRule, RequirementRules
from domain.errors import DomainError, invalid
from services import insurance_requirements as requirements
from services.insurance_requirements import RequirementIn, RequirementUpdate

router = APIRouter()
_WHOLE_DOLLARS = re.compile(r"^\$?\s*(\d{1,3}(,\d{3})+|\d+)$")
MAX_TEXT = 5000
FormFields = dict[str, Any]


def _whole_dollars(text: str, label: str) -> int:
    value = text.strip()
    if not _WHOLE_DOLLARS.match(value) or len(value) > 20:
        raise invalid(f"{label}: whole dollars, e.g. 1,000,000", label)
    return int(value.lstrip("$").strip().replace(",", ""))


def _text(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _texts(form: Any, name: str) -> list[str]:
    return [v[:MAX_TEXT] for v in form.getlist(name) if isinstance(v, str)][:200]


async def _typed(request: Request) -> FormFields:
    """The form as typed, to show again when it is refused."""
    form = await request.form()
    limits = {
        f"{kind.value}.{limit.value}": _text(form, f"{kind.value}.{limit.value}")
        for kind, kinds in LIMITS_BY_COVERAGE.items()
        for limit in kinds
    }
    return {
        "name": _text(form, "name"),
        "coverages": _texts(form, "coverage"),
        "limits": limits,
        "additional_insured": _texts(form, "additional_insured"),
        "waiver_of_subrogation": _texts(form, "waiver_of_subrogation"),
        "expiry": _text(form, "expiry") or ExpiryRule.IN_FORCE_TODAY.value,
        "minimum_days_left": _text(form, "minimum_days_left"),
        "certificate_holder": _text(form, "certificate_holder"),
        "entity_ids": _texts(form, "entity_ids"),
        "category_codes": _texts(form, "category_codes"),
        "is_default": _text(form, "is_default") == "yes",
    }


def _fields(typed: FormFields) -> dict[str, Any]:
    """The service's input from the form (only the format is checked here: dollars, days, boxes)."""
    coverages = []
    for kind in CoverageKind:
        if kind.value not in typed["coverages"]:
            continue
        limits = {}
        for limit in LIMITS_BY_COVERAGE[kind]:
            text = typed["limits"].get(f"{kind.value}.{limit.value}", "")
            if text.strip():
                label = f"{COVERAGE_NAMES[kind]}, {LIMIT_NAMES[limit]}"
                limits[limit.value] = _whole_dollars(text, label)
        coverages.append(
            {
                "coverage": kind.value,
                "minimum_limits": limits,
                "additional_insured": kind.value in typed["additional_insured"],
                "waiver_of_subrogation": kind.value in typed["waiver_of_subrogation"],
            }
        )
    unknown = set(typed["coverages"]) - {k.value for k in CoverageKind}
    if unknown:
        raise invalid(f"coverages: unknown coverage {sorted(unknown)[0]!r}", "coverages")
    days_text = typed["minimum_days_left"].strip()
    days: int | None = None
    if typed["expiry"] == ExpiryRule.DAYS_LEFT.value:
        if not days_text.isdigit() or len(days_text) > 6:
            raise invalid("Minimum days left: a whole number of days, e.g. 30", "minimum_days_left")
        days = int(days_text)
    return {
        "name": typed["name"].strip(),
        "coverages": coverages,
        "expiry": {"rule": typed["expiry"], "minimum_days_left": days},
        "certificate_holder": typed["certificate_holder"].strip() or None,
        "entity_ids": typed["entity_ids"],
        "category_codes": typed["category_codes"],
        "is_default": typed["is_default"],
    }


def _form_of(
    rules: RequirementRules, name: str, is_default: bool, entity_ids: list[str], codes: list[str]
) -> FormFields:
    return {
        "name": name,
        "coverages": [c.coverage.value for c in rules.coverages],
        "limits": {
            f"{c.coverage.value}.{limit.value}": f"{amount:,}"
            for c in rules.coverages
            for limit, amount in c.minimum_limits.items()
        },
        "additional_insured": [c.coverage.value for c in rules.coverages if c.additional_insured],
        "waiver_of_subrogation": [c.coverage.value for c in rules.coverages if c.waiver_of_subrogation],
        "expiry": rules.expiry.value,
        "minimum_days_left": str(rules.minimum_days_left) if rules.expiry is ExpiryRule.DAYS_LEFT else "",
        "certificate_holder": rules.certificate_holder or "",
        "entity_ids": list(entity_ids),
        "category_codes": list(codes),
        "is_default": is_default,
    }


def _choices() -> dict[str, Any]:
    return {
        "coverage_kinds": [(k.value, COVERAGE_NAMES[k]) for k in CoverageKind],
        "limits_of": {
            k.value: [(limit.value, LIMIT_NAMES[limit]) for limit in LIMITS_BY_COVERAGE[k]]
            for k in CoverageKind
        },
        "expiry_rules": [(r.value, EXPIRY_NAMES[r]) for r in ExpiryRule],
    }


def _list(request: Request, session: Session, viewer: Viewer, status: int = 200, **context: Any) -> Response:
    shown = requirements.requirements_overview(session, viewer.tenant)
    context.setdefault("requirement_form", _form_of(RequirementRules(), "", False, [], []))
    return page(
        request,
        "requirements.html",
        status,
        requirements=[(r, describe(rules)) for r, rules in shown.requirements],
        overview=shown,
        **_choices(),
        **context,
    )


@router.get("/requirements", response_class=HTMLResponse)
def requirements_page(request: Request, session: DbSession, viewer: CurrentViewer) -> Response:
    return _list(request, session, viewer)


@router.post("/requirements")
async def create_requirement(request: Request, session: DbSession, viewer: Operator) -> Response:
    typed = await _typed(request)
    try:
        body = form_model(RequirementIn, **_fields(typed))
        created = requirements.create_requirement(session, viewer.tenant, body, viewer.actor)
    except DomainError as error:
        return refused(session, error, partial(_list, request, session, viewer), requirement_form=typed)
    return redirect(f"/dashboard/requirements/{created.id}", "created")


def _one(
    request: Request, session: Session, viewer: Viewer, requirement_id: str, status: int = 200, **context: Any
) -> Response:
    requirement, rules, shown = requirements.requirement_overview(session, viewer.tenant, requirement_id)
    context.setdefault(
        "requirement_form",
        _form_of(
            rules,
            requirement.name,
            requirement.is_default,
            requirement.entity_ids,
            requirement.category_codes,
        ),
    )
    return page(
        request,
        "requirement.html",
        status,
        requirement=requirement,
        description=describe(rules),
        overview=shown,
        **_choices(),
        **context,
    )


@router.get("/requirements/{requirement_id}", response_class=HTMLResponse)
def requirement_page(
    request: Request, session: DbSession, viewer: CurrentViewer, requirement_id: str
) -> Response:
    return _one(request, session, viewer, requirement_id)


@router.post("/requirements/{requirement_id}")
async def update_requirement(
    request: Request, session: DbSession, viewer: Operator, requirement_id: str
) -> Response:
    typed = await _typed(request)
    try:
        found = requirements.get_requirement(session, viewer.tenant, requirement_id)  # another's: not found
        fields = _fields(typed)
        if not fields["is_default"] and not found.is_default:
            fields.pop("is_default")  # unticked on one that is not the default: nothing to change
        body = form_model(RequirementUpdate, **fields)
        requirements.update_requirement(session, viewer.tenant, requirement_id, body, viewer.actor)
    except DomainError as error:
        show = partial(_one, request, session, viewer, requirement_id)
        return refused(session, error, show, not_found_page=True, requirement_form=typed)
    return redirect(f"/dashboard/requirements/{requirement_id}", "saved")


@router.post("/requirements/{requirement_id}/delete")
def delete_requirement(
    request: Request, session: DbSession, viewer: Operator, requirement_id: str
) -> Response:
    try:
        requirements.delete_requirement(session, viewer.tenant, requirement_id, viewer.actor)
    except DomainError as error:
        show = partial(_one, request, session, viewer, requirement_id)
        return refused(session, error, show, not_found_page=True)
    return redirect("/dashboard/requirements", "deleted")
