"""Entities: the hiring companies named as certificate holders."""

from typing import Annotated, Any

from pydantic import Field, model_validator
from sqlalchemy.orm import Session

from common.schemas import Address, Strict
from db.models import Entity, Job
from domain.coverage import CoverageType
from domain.errors import conflict, invalid
from services import audit
from services.audit import Actor
from services.lookups import get_entity, now, scoped
from services.tenancy import Tenant

LimitCents = Annotated[int, Field(ge=1000, le=100_000_000_000)]


class CoverageLimit(Strict):
    aggregate_limit: LimitCents
    occurrence_limit: LimitCents

    @model_validator(mode="after")
    def _occurrence_within_aggregate(self) -> "CoverageLimit":
        if self.occurrence_limit > self.aggregate_limit:
            raise ValueError("occurrence_limit cannot exceed aggregate_limit")
        return self


class EntityIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    address: Address | None = None
    coverage_limit: CoverageLimit | None = None
    required_coverage: list[CoverageType] | None = None


class EntityUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    address: Address | None = None
    coverage_limit: CoverageLimit | None = None
    required_coverage: list[CoverageType] | None = None


def _apply(entity: Entity, changes: dict[str, Any]) -> None:
    for field, value in changes.items():
        if field == "required_coverage" and value is not None:
            value = sorted({CoverageType(v).value for v in value})
        setattr(entity, field, value)


def _audit(
    session: Session, tenant: Tenant, actor: Actor | None, action: str, entity: Entity, **detail: object
) -> None:
    if actor is not None:  # a change made in the dashboard
        audit.record(
            session,
            tenant.organization_id,
            actor,
            action,
            entity.id,
            environment=tenant.environment,
            **detail,
        )


def create_entity(session: Session, tenant: Tenant, body: EntityIn, actor: Actor | None = None) -> Entity:
    entity = Entity.new(tenant)
    _apply(entity, body.model_dump(mode="json"))
    session.add(entity)
    _audit(session, tenant, actor, "entity.created", entity, name=entity.name)
    session.commit()
    return entity


def update_entity(
    session: Session, tenant: Tenant, entity_id: str, body: EntityUpdate, actor: Actor | None = None
) -> Entity:
    entity = get_entity(session, tenant, entity_id)
    changes = body.model_dump(mode="json", exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise invalid("name: cannot be removed", "name")
    _apply(entity, changes)
    _audit(session, tenant, actor, "entity.updated", entity, fields=sorted(changes))
    session.commit()
    return entity


def delete_entity(session: Session, tenant: Tenant, entity_id: str) -> Entity:
    entity = get_entity(session, tenant, entity_id)
    if session.scalar(scoped(Job, tenant).where(Job.entity_id == entity.id).limit(1)) is not None:
        raise conflict("bad_request", f"Entity {entity.id} still has jobs; delete them first")
    entity.deleted_at = now()
    session.commit()
    return entity
