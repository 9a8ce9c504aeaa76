from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field, model_validator
from sqlalchemy.orm import Session

from api.deps import CurrentTenant, DbSession, Tenant
from api.errors import conflict, invalid_input
from api.queries import PageParams, deleted_body, get_owned, list_page, now, scoped
from api.schemas import Address, Strict
from common import representations as render
from common.ids import new_id
from db.models import Entity, Job
from domain.coverage import CoverageType

router = APIRouter(prefix="/entities", tags=["entities"])
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


def get_entity(session: Session, tenant: Tenant, entity_id: str) -> Entity:
    return get_owned(session, Entity, tenant, entity_id, "invalid_entity_id", "entity")


def _apply(entity: Entity, changes: dict[str, Any]) -> None:
    for field, value in changes.items():
        if field == "required_coverage" and value is not None:
            value = sorted({CoverageType(v).value for v in value})
        setattr(entity, field, value)


@router.post("", status_code=201)
def create_entity(body: EntityIn, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    entity = Entity(
        id=new_id("entity"),
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        created=now(),
    )
    _apply(entity, body.model_dump(mode="json"))
    session.add(entity)
    session.commit()
    return render.entity(entity)


@router.get("")
def list_entities(session: DbSession, tenant: CurrentTenant, page: PageParams) -> list[dict[str, Any]]:
    return [render.entity(e) for e in list_page(session, scoped(Entity, tenant), Entity, page)]


@router.get("/{entity_id}")
def retrieve_entity(entity_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.entity(get_entity(session, tenant, entity_id))


@router.put("/{entity_id}")
def update_entity(
    entity_id: str, body: EntityUpdate, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    entity = get_entity(session, tenant, entity_id)
    changes = body.model_dump(mode="json", exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise invalid_input("name: cannot be removed")
    _apply(entity, changes)
    session.commit()
    return render.entity(entity)


@router.delete("/{entity_id}")
def delete_entity(entity_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    entity = get_entity(session, tenant, entity_id)
    if session.scalar(scoped(Job, tenant).where(Job.entity_id == entity.id).limit(1)) is not None:
        raise conflict("bad_request", f"Entity {entity.id} still has jobs; delete them first")
    entity.deleted_at = now()
    session.commit()
    return deleted_body(entity, "entity")
