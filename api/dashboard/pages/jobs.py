"""Jobs and entities: list, create and edit them through the services the API's /jobs and /entities call
(services.jobs, services.entities); a job's category is chosen among the organization's approved ones
(services.catalog), and any other is refused with the API's message. Everyone reads; operators and admins
change, each change audited."""

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.dashboard.amounts import cents, dollars
from api.dashboard.auth import CurrentViewer, Operator, Viewer
from api.dashboard.rendering import form_model, page, redirect, refused
from api.deps import DbSession, Workflows
from domain.coverage import CoverageType
from domain.errors import DomainError
from domain.geography import US_STATES
from services import entities, jobs
from services.entities import EntityIn, EntityUpdate
from services.job_overview import JobChoices, entity_overview, job_overview, jobs_overview
from services.jobs import JobIn, JobUpdate, WageType
from services.lookups import get_entity, get_job

if TYPE_CHECKING:
    from db.models import Entity, Job

router = APIRouter()
PER_PAGE = 50
Text = Annotated[str, Form(max_length=5000)]
WITHHOLD = {"": None, "yes": True, "no": False}


def _choices(choices: JobChoices) -> dict[str, Any]:
    return {
        "entity_choices": choices.entities,
        "categories": choices.categories,
        "wage_types": list(WageType),
        "states": US_STATES,
        "coverage_types": list(CoverageType),
    }


def _list(
    request: Request,
    session: Session,
    viewer: Viewer,
    after: str | None = None,
    entities_after: str | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    shown = jobs_overview(session, viewer.tenant, after, entities_after, PER_PAGE)
    return page(
        request,
        "jobs.html",
        status,
        jobs=shown.jobs.rows,
        entities=shown.entities.rows,
        names=shown.names,
        older_jobs=shown.jobs.older,
        older_entities=shown.entities.older,
        **_choices(shown.choices),
        **context,
    )


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    after: str | None = None,
    entities_after: str | None = None,
) -> Response:
    return _list(request, session, viewer, after, entities_after)


# Form fields -> the service's input model. Only the format is the page's business (dollars, checkboxes, an
# empty field): the service checks the values, with the API's messages.


def _some(value: str) -> str | None:
    return value.strip() or None


def _location(line1: str, locality: str, region: str, postalcode: str) -> dict[str, str] | None:
    parts = {"line1": line1, "locality": locality, "region": region, "postalcode": postalcode}
    given = {k: v.strip() for k, v in parts.items() if v.strip()}
    return given or None


def _job_fields(
    name: str,
    description: str,
    entity: str,
    category_code: str,
    wage: str,
    wage_type: str,
    years_experience: str,
    duration_hours: str,
    line1: str,
    locality: str,
    region: str,
    postalcode: str,
    withhold_premium: str,
    purchase_order_number: str = "",
    po_contact_name: str = "",
    po_contact_email: str = "",
) -> dict[str, Any]:
    """Every field of the form; an empty one is None (left out when creating, cleared when editing). The PO
    number and contact are kept in the job's metadata (an empty one removes its key, the others stay)."""
    po = {
        "purchase_order_number": purchase_order_number.strip(),
        "po_contact_name": po_contact_name.strip(),
        "po_contact_email": po_contact_email.strip(),
    }
    return {
        "name": _some(name),
        "description": _some(description),
        "entity": _some(entity),
        "category_code": _some(category_code),
        "wage": cents(wage, "wage") if wage.strip() else None,
        "wage_type": _some(wage_type),
        "years_experience": _some(years_experience),
        "duration_hours": _some(duration_hours),
        "address": _location(line1, locality, region, postalcode),
        "withhold_premium": WITHHOLD.get(withhold_premium.strip()),
        "custom_metadata": po,
    }


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


JobForm = dict[str, str]
EntityForm = dict[str, Any]


def job_form(
    name: Text = "",
    description: Text = "",
    entity: Text = "",
    category_code: Text = "",
    wage: Text = "",
    wage_type: Text = "",
    years_experience: Text = "",
    duration_hours: Text = "",
    line1: Text = "",
    locality: Text = "",
    region: Text = "",
    postalcode: Text = "",
    withhold_premium: Text = "",
    purchase_order_number: Annotated[str, Form(max_length=100)] = "",
    po_contact_name: Annotated[str, Form(max_length=200)] = "",
    po_contact_email: Annotated[str, Form(max_length=320)] = "",
) -> JobForm:
    """The job form's fields as typed."""
    return {
        "name": name,
        "description": description,
        "entity": entity,
        "category_code": category_code,
        "wage": wage,
        "wage_type": wage_type,
        "years_experience": years_experience,
        "duration_hours": duration_hours,
        "line1": line1,
        "locality": locality,
        "region": region,
        "postalcode": postalcode,
        "withhold_premium": withhold_premium,
        "purchase_order_number": purchase_order_number,
        "po_contact_name": po_contact_name,
        "po_contact_email": po_contact_email,
    }


def entity_form(
    name: Text = "",
    line1: Text = "",
    line2: Text = "",
    locality: Text = "",
    region: Text = "",
    postalcode: Text = "",
    aggregate_limit: Text = "",
    occurrence_limit: Text = "",
    required_coverage: Annotated[list[str] | None, Form()] = None,
) -> EntityForm:
    """The entity form's fields as typed (the required coverage as the boxes ticked)."""
    return {
        "name": name,
        "line1": line1,
        "line2": line2,
        "locality": locality,
        "region": region,
        "postalcode": postalcode,
        "aggregate_limit": aggregate_limit,
        "occurrence_limit": occurrence_limit,
        "required_coverage": sorted(required_coverage or []),
    }


JobFormFields = Annotated[JobForm, Depends(job_form)]
EntityFormFields = Annotated[EntityForm, Depends(entity_form)]
JOB_GROUPS: dict[str, tuple[str, ...]] = {
    "address": ("line1", "locality", "region", "postalcode"),
    "custom_metadata": ("purchase_order_number", "po_contact_name", "po_contact_email"),
}
ENTITY_GROUPS = {
    "address": ("line1", "line2", "locality", "region", "postalcode"),
    "coverage_limit": ("aggregate_limit", "occurrence_limit"),
}


def _changed(form: dict[str, Any], before: dict[str, Any], groups: dict[str, tuple[str, ...]]) -> set[str]:
    """The model fields whose form fields differ from what the object has now (an edit sends only those,
    as a PUT would)."""
    fields = {key for key in form if form[key] != before.get(key)}
    for group, parts in groups.items():
        if fields & set(parts):
            fields = (fields - set(parts)) | {group}
    return fields


@router.post("/jobs")
def create_job(request: Request, session: DbSession, viewer: Operator, form: JobFormFields) -> Response:
    try:
        body = form_model(JobIn, **_given(_job_fields(**form)))
        job = jobs.create_job(session, viewer.tenant, body, viewer.actor)
    except DomainError as error:
        return refused(session, error, partial(_list, request, session, viewer), job_form=form)
    return redirect(f"/dashboard/jobs/{job.id}", "created")


@router.post("/jobs/entities")
def create_entity(request: Request, session: DbSession, viewer: Operator, form: EntityFormFields) -> Response:
    try:
        body = form_model(EntityIn, **_given(_entity_fields(**form)))
        created = entities.create_entity(session, viewer.tenant, body, viewer.actor)
    except DomainError as error:
        return refused(session, error, partial(_list, request, session, viewer), entity_form=form)
    return redirect(f"/dashboard/jobs/entities/{created.id}", "created")


def _entity_fields(
    name: str,
    line1: str,
    line2: str,
    locality: str,
    region: str,
    postalcode: str,
    aggregate_limit: str,
    occurrence_limit: str,
    required_coverage: list[str],
) -> dict[str, Any]:
    address = {
        "line1": line1,
        "line2": line2,
        "locality": locality,
        "region": region,
        "postalcode": postalcode,
    }
    limits = {"aggregate_limit": aggregate_limit, "occurrence_limit": occurrence_limit}
    given_limits = {k: cents(v, f"coverage_limit.{k}") for k, v in limits.items() if v.strip()}
    return {
        "name": _some(name),
        "address": {k: v.strip() for k, v in address.items() if v.strip()} or None,
        "coverage_limit": given_limits or None,
        "required_coverage": required_coverage or None,
    }


# One entity ----------------------------------------------------------------------------------------------


def _entity_form_of(e: "Entity") -> dict[str, Any]:
    address, limits = e.address or {}, e.coverage_limit or {}
    return {
        "name": e.name,
        **{k: str(address.get(k) or "") for k in ("line1", "line2", "locality", "region", "postalcode")},
        **{
            k: dollars(limits[k]) if limits.get(k) is not None else ""
            for k in ("aggregate_limit", "occurrence_limit")
        },
        "required_coverage": list(e.required_coverage or []),
    }


def _entity_page(
    request: Request, session: Session, viewer: Viewer, entity_id: str, status: int = 200, **context: Any
) -> Response:
    shown = entity_overview(session, viewer.tenant, entity_id, PER_PAGE)
    context.setdefault("entity_form", _entity_form_of(shown.entity))
    return page(
        request,
        "entity.html",
        status,
        entity=shown.entity,
        jobs=shown.jobs,
        coverage_types=list(CoverageType),
        states=US_STATES,
        **context,
    )


@router.get("/jobs/entities/{entity_id}", response_class=HTMLResponse)
def entity_page(request: Request, session: DbSession, viewer: CurrentViewer, entity_id: str) -> Response:
    return _entity_page(request, session, viewer, entity_id)


@router.post("/jobs/entities/{entity_id}")
def update_entity(
    request: Request, session: DbSession, viewer: Operator, entity_id: str, form: EntityFormFields
) -> Response:
    try:
        found = get_entity(session, viewer.tenant, entity_id)  # another organization's: not found
        changed = _changed(form, _entity_form_of(found), ENTITY_GROUPS)
        fields = _entity_fields(**form)
        fields["required_coverage"] = form["required_coverage"]  # none ticked: none required
        body = form_model(EntityUpdate, **{k: v for k, v in fields.items() if k in changed})
        entities.update_entity(session, viewer.tenant, entity_id, body, viewer.actor)
    except DomainError as error:
        show = partial(_entity_page, request, session, viewer, entity_id)
        return refused(session, error, show, not_found_page=True, entity_form=form)
    return redirect(f"/dashboard/jobs/entities/{entity_id}", "saved")


# One job -------------------------------------------------------------------------------------------------


def _job_form_of(j: "Job") -> JobForm:
    address = j.address or {}
    return {
        "name": j.name,
        "description": j.description,
        "entity": j.entity_id,
        "category_code": j.category_id,
        "wage": dollars(j.wage),
        "wage_type": j.wage_type,
        "years_experience": "" if j.years_experience is None else str(j.years_experience),
        "duration_hours": "" if j.duration_hours is None else f"{j.duration_hours:g}",
        **{k: str(address.get(k) or "") for k in ("line1", "locality", "region", "postalcode")},
        "withhold_premium": {None: "", True: "yes", False: "no"}[j.withhold_premium],
        **{k: str((j.custom_metadata or {}).get(k) or "") for k in JOB_GROUPS["custom_metadata"]},
    }


def _job_page(
    request: Request, session: Session, viewer: Viewer, job_id: str, status: int = 200, **context: Any
) -> Response:
    shown = job_overview(session, viewer.tenant, job_id)
    context.setdefault("job_form", _job_form_of(shown.job))
    return page(
        request,
        "job.html",
        status,
        job=shown.job,
        names=shown.names,
        **_choices(shown.choices),
        **context,
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, session: DbSession, viewer: CurrentViewer, job_id: str) -> Response:
    return _job_page(request, session, viewer, job_id)


@router.post("/jobs/{job_id}")
def update_job(
    request: Request,
    session: DbSession,
    workflows: Workflows,
    viewer: Operator,
    job_id: str,
    form: JobFormFields,
) -> Response:
    try:
        found = get_job(session, viewer.tenant, job_id)  # another organization's: not found
        changed = _changed(form, _job_form_of(found), JOB_GROUPS)
        fields = {k: v for k, v in _job_fields(**form).items() if k in changed}
        jobs.update_job(
            session, viewer.tenant, job_id, form_model(JobUpdate, **fields), workflows, viewer.actor
        )
    except DomainError as error:
        if error.code == "invalid_job_id":
            raise  # another organization's job: the not-found page (an entity not found is the form's error)
        return refused(session, error, partial(_job_page, request, session, viewer, job_id), job_form=form)
    return redirect(f"/dashboard/jobs/{job_id}", "saved")
