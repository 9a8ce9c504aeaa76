"""Finding a contractor or a job by what a person types (part of a name or an email), within the viewer's
organization and environment only: the suggestions a dashboard field offers as one types, and the one
contractor or job a typed text names when a form is sent without them (a page without its script).

The text is bounded (``MAX_TYPED`` characters) and matched literally: ``%`` and ``_`` are escaped, not
wildcards. At most ``SUGGESTED`` rows are read. Another tenant's rows are never read: every query starts
from ``services.lookups.scoped``."""

import re
from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlalchemy.orm import Session

from db.models import Contractor, Entity, Job
from domain.errors import DomainError, invalid
from services.lookups import get_contractor, get_job, scoped
from services.tenancy import Tenant

MAX_TYPED = 100  # characters of typed text looked at
SUGGESTED = 10  # suggestions offered, and choices listed when a text names several
ID_SHAPE = {"contractor": re.compile(r"cn_[A-Za-z0-9]{6,36}"), "job": re.compile(r"jb_[A-Za-z0-9]{6,36}")}
EMAIL_IN_LABEL = re.compile(r"<([^<>\s]+@[^<>\s]+)>\s*$")


@dataclass(frozen=True)
class Choice:
    """One contractor or job as a picker shows it: ``label`` is what the field then holds."""

    id: str
    label: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "label": self.label, "detail": self.detail}


def _needle(text: str) -> str:
    return " ".join(text[:MAX_TYPED].split()).lower()


def _contractor_choice(row: Contractor) -> Choice:
    return Choice(row.id, f"{row.full_name} <{row.email}>", row.company_name or "")


def _job_choices(session: Session, tenant: Tenant, rows: list[Job]) -> list[Choice]:
    entity_ids = {j.entity_id for j in rows}
    entities = {
        e.id: e.name for e in session.scalars(scoped(Entity, tenant).where(Entity.id.in_(entity_ids)))
    }
    return [Choice(j.id, j.name, entities.get(j.entity_id, "")) for j in rows]


def suggest_contractors(session: Session, tenant: Tenant, text: str) -> list[Choice]:
    """The tenant's contractors whose name or email holds ``text`` (ignoring case), newest first."""
    needle = _needle(text)
    if not needle:
        return []
    full_name = func.lower(Contractor.first_name + " " + Contractor.last_name)
    query = scoped(Contractor, tenant).where(
        or_(
            full_name.contains(needle, autoescape=True),
            func.lower(Contractor.email).contains(needle, autoescape=True),
        )
    )
    rows = session.scalars(query.order_by(Contractor.seq.desc()).limit(SUGGESTED))
    return [_contractor_choice(r) for r in rows]


def suggest_jobs(session: Session, tenant: Tenant, text: str) -> list[Choice]:
    """The tenant's jobs whose name holds ``text`` (ignoring case), newest first."""
    needle = _needle(text)
    if not needle:
        return []
    query = scoped(Job, tenant).where(func.lower(Job.name).contains(needle, autoescape=True))
    rows = list(session.scalars(query.order_by(Job.seq.desc()).limit(SUGGESTED)))
    return _job_choices(session, tenant, rows)


def _refusal(kind: str, typed: str, field: str, choices: list[Choice]) -> DomainError:
    """Nothing or several match: ``facts`` carries the choices for the page to list."""
    listed = [c.as_json() for c in choices]
    if not choices:
        message = f"{field}: no {kind} matches '{typed}'"
        return invalid(message, field, f"no_such_{kind}", typed=typed, choices=listed)
    message = f"{field}: several {kind}s match '{typed}'"
    return invalid(message, field, f"ambiguous_{kind}", typed=typed, choices=listed)


def contractor_named(session: Session, tenant: Tenant, typed: str, field: str = "contractor") -> Choice:
    """The one contractor ``typed`` names: its id, its email (alone or as the picker writes it, "Name
    <email>"), its whole name when no other has it, or a part of its name or email only it has. Else a
    refusal listing the matches (none or several)."""
    typed = typed.strip()[:MAX_TYPED]
    scope = scoped(Contractor, tenant)
    by_id = session.scalar(scope.where(Contractor.id == typed))
    if by_id is not None:
        return _contractor_choice(by_id)
    in_label = EMAIL_IN_LABEL.search(typed)
    email = (in_label.group(1) if in_label else typed).lower()
    by_email = list(session.scalars(scope.where(func.lower(Contractor.email) == email).limit(2)))
    if len(by_email) == 1:
        return _contractor_choice(by_email[0])
    full_name = func.lower(Contractor.first_name + " " + Contractor.last_name)
    whole = list(session.scalars(scope.where(full_name == _needle(typed)).limit(2)))
    if len(whole) == 1:  # "Sam Lee", when "Sam Leeds" exists too
        return _contractor_choice(whole[0])
    found = suggest_contractors(session, tenant, typed)
    if len(found) == 1:
        return found[0]
    raise _refusal("contractor", typed, field, found)


def job_named(session: Session, tenant: Tenant, typed: str, field: str = "job") -> Choice:
    """The one job ``typed`` names: its id, its whole name (when no other job has it), or a part of its name
    only it has. Else a refusal listing the matches (none or several)."""
    typed = typed.strip()[:MAX_TYPED]
    scope = scoped(Job, tenant)
    by_id = session.scalar(scope.where(Job.id == typed))
    if by_id is not None:
        return _job_choices(session, tenant, [by_id])[0]
    exact = list(session.scalars(scope.where(func.lower(Job.name) == _needle(typed)).limit(SUGGESTED)))
    if len(exact) == 1:
        return _job_choices(session, tenant, exact)[0]
    found = _job_choices(session, tenant, exact) if exact else suggest_jobs(session, tenant, typed)
    if len(found) == 1:
        return found[0]
    raise _refusal("job", typed, field, found)


@dataclass(frozen=True)
class Typed:
    """What a picker field sent: the text in it, and the id its script picked (or the choice ticked on a
    page that listed several), if any."""

    text: str = ""
    picked: str = ""


def resolve(session: Session, tenant: Tenant, kind: str, typed: Typed) -> Choice | None:
    """The contractor or job (``kind``) a picker field names: the picked id if it is the tenant's, else
    what the text names (a refusal listing the matches when none or several do). Nothing sent: None."""
    named = contractor_named if kind == "contractor" else job_named
    text = typed.text.strip()
    if ID_SHAPE[kind].fullmatch(text):  # an id typed: the API's answer for it (another tenant's: not found)
        if kind == "contractor":
            return _contractor_choice(get_contractor(session, tenant, text))
        return _job_choices(session, tenant, [get_job(session, tenant, text)])[0]
    chosen = _picked(session, tenant, kind, typed.picked.strip()[:MAX_TYPED])
    if chosen is not None and _still_meant(session, tenant, kind, text, chosen):
        return chosen
    if not text:
        return None
    return named(session, tenant, typed.text)


def _picked(session: Session, tenant: Tenant, kind: str, picked: str) -> Choice | None:
    """The picked id's contractor or job, only the tenant's own (another's, or one gone: None)."""
    if not picked:
        return None
    if kind == "contractor":
        contractor = session.scalar(scoped(Contractor, tenant).where(Contractor.id == picked))
        return _contractor_choice(contractor) if contractor is not None else None
    job = session.scalar(scoped(Job, tenant).where(Job.id == picked))
    return _job_choices(session, tenant, [job])[0] if job is not None else None


def _still_meant(session: Session, tenant: Tenant, kind: str, text: str, chosen: Choice) -> bool:
    """Whether the field's text still names the picked one: the picker wrote its label, or the text is what
    was typed when the page listed several to tick from. Text typed over a pick (the page sent back after a
    refusal, no script to clear the hidden id) names someone else: the text decides."""
    if not text or text == chosen.label:
        return True
    suggest = suggest_contractors if kind == "contractor" else suggest_jobs
    return any(match.id == chosen.id for match in suggest(session, tenant, text))
