"""A new assignment as the dashboard's form asks for it: the contractor and job named as a person types them
(services.pickers), and, when it likely repeats an assignment in force (services.assignment_duplicates),
nothing created until the person confirms. The API's ``POST /assignments`` is unchanged: it creates
as asked."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from common.settings import Settings
from common.validation import validated
from db.models import Assignment
from domain.errors import invalid
from services.assignment_duplicates import duplicates_of
from services.assignment_overview import names_of
from services.assignments import AssignmentIn, create_assignment
from services.audit import Actor
from services.pickers import Choice, Typed, resolve
from services.tenancy import Tenant


@dataclass(frozen=True)
class AssignmentRequest:
    contractor: Typed
    job: Typed
    terms: dict[str, Any] = field(default_factory=dict)  # AssignmentIn's other fields, as the form sent them
    confirmed: bool = False  # the person saw the likely duplicates and asked for it anyway


@dataclass(frozen=True)
class Requested:
    """Either the assignment created, or (nothing created) the assignments it likely repeats."""

    contractor: Choice
    job: Choice
    created: Assignment | None = None
    duplicates: list[Assignment] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)


def _named(session: Session, tenant: Tenant, kind: str, typed: Typed) -> Choice:
    choice = resolve(session, tenant, kind, typed)
    if choice is None:
        raise invalid(f"{kind}: this field is required", kind, f"{kind}_required")
    return choice


def request_assignment(
    session: Session,
    tenant: Tenant,
    request: AssignmentRequest,
    settings: Settings,
    actor: Actor | None = None,
) -> Requested:
    contractor = _named(session, tenant, "contractor", request.contractor)
    job = _named(session, tenant, "job", request.job)
    body = validated(AssignmentIn, {**request.terms, "contractor": contractor.id, "job": job.id})
    if not request.confirmed:
        duplicates = duplicates_of(session, tenant, body)
        if duplicates:
            return Requested(contractor, job, duplicates=duplicates, names=names_of(session, duplicates))
    return Requested(contractor, job, created=create_assignment(session, tenant, body, settings, actor))
