"""What the dashboard shows of jobs and entities: pages of each with the names they refer to, the choices
a job's form offers, and one entity with its newest jobs."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Entity, Job, JobCategory
from services.catalog import approved_categories
from services.lookups import Listing, get_entity, get_job, newest_first, scoped
from services.tenancy import Tenant

CHOICES = 200  # entities offered in a job's form (the newest)


def names_of(session: Session, rows: list[Job]) -> dict[str, str]:
    """The entity and category names of these jobs, by id."""
    entity_ids, category_ids = {j.entity_id for j in rows}, {j.category_id for j in rows}
    names = {e.id: e.name for e in session.scalars(select(Entity).where(Entity.id.in_(entity_ids)))}
    names |= {
        c.id: c.name for c in session.scalars(select(JobCategory).where(JobCategory.id.in_(category_ids)))
    }
    return names


@dataclass(frozen=True)
class JobChoices:
    """What a job's form offers: the newest entities and the organization's approved categories."""

    entities: list[Entity]
    categories: list[JobCategory]


def job_choices(session: Session, tenant: Tenant) -> JobChoices:
    newest = scoped(Entity, tenant).order_by(Entity.seq.desc()).limit(CHOICES)
    return JobChoices(list(session.scalars(newest)), list(approved_categories(session, tenant)))


@dataclass(frozen=True)
class JobsOverview:
    jobs: Listing[Job]
    entities: Listing[Entity]
    names: dict[str, str]
    choices: JobChoices


def jobs_overview(
    session: Session, tenant: Tenant, after: str | None, entities_after: str | None, per_page: int
) -> JobsOverview:
    jobs = newest_first(session, scoped(Job, tenant), Job, after, per_page)
    entities = newest_first(session, scoped(Entity, tenant), Entity, entities_after, per_page)
    return JobsOverview(jobs, entities, names_of(session, jobs.rows), job_choices(session, tenant))


@dataclass(frozen=True)
class JobOverview:
    job: Job
    names: dict[str, str]
    choices: JobChoices


def job_overview(session: Session, tenant: Tenant, job_id: str) -> JobOverview:
    job = get_job(session, tenant, job_id)
    return JobOverview(job, names_of(session, [job]), job_choices(session, tenant))


@dataclass(frozen=True)
class EntityOverview:
    entity: Entity
    jobs: list[Job]


def entity_overview(session: Session, tenant: Tenant, entity_id: str, limit: int) -> EntityOverview:
    """The entity and its newest jobs."""
    entity = get_entity(session, tenant, entity_id)
    jobs = scoped(Job, tenant).where(Job.entity_id == entity.id).order_by(Job.seq.desc()).limit(limit)
    return EntityOverview(entity, list(session.scalars(jobs)))
