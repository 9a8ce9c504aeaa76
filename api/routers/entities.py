from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from api.paging import PageParams, deleted_body
from services import entities, lookups
from services import representations as render
from services.entities import EntityIn, EntityUpdate
from services.lookups import get_entity

router = APIRouter(prefix="/entities", tags=["entities"])


@router.post("", status_code=201)
def create_entity(body: EntityIn, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.entity(entities.create_entity(session, tenant, body))


@router.get("")
def list_entities(session: DbSession, tenant: CurrentTenant, page: PageParams) -> list[dict[str, Any]]:
    return [render.entity(e) for e in lookups.list_entities(session, tenant, page)]


@router.get("/{entity_id}")
def retrieve_entity(entity_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.entity(get_entity(session, tenant, entity_id))


@router.put("/{entity_id}")
def update_entity(
    entity_id: str, body: EntityUpdate, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    return render.entity(entities.update_entity(session, tenant, entity_id, body))


@router.delete("/{entity_id}")
def delete_entity(entity_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return deleted_body(entities.delete_entity(session, tenant, entity_id), "entity")
