"""Tenant-scoped lookups and list pagination shared by every resource router."""

import time
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.deps import Tenant
from api.errors import invalid_input, not_found
from db.models import TenantResource

R = TypeVar("R", bound=TenantResource)


class Page(BaseModel):
    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None


def page_params(
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Page:
    if starting_after and ending_before:
        raise invalid_input("starting_after and ending_before cannot be used together")
    return Page(limit=limit, starting_after=starting_after, ending_before=ending_before)


PageParams = Annotated[Page, Depends(page_params)]


def scoped(model: type[R], tenant: Tenant) -> Select[tuple[R]]:
    return select(model).where(
        model.organization_id == tenant.organization_id,
        model.environment == tenant.environment,
        model.deleted_at.is_(None),
    )


def filtered(query: Select[tuple[R]], filters: dict[Any, object | None]) -> Select[tuple[R]]:
    """``query`` narrowed by each ``column: value`` whose value the caller gave (None means no filter)."""
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    return query


def get_owned(
    session: Session, model: type[R], tenant: Tenant, object_id: str, error_code: str, kind: str
) -> R:
    """The caller's object, or 404: another organization's or environment's object does not exist for them."""
    found = session.scalar(scoped(model, tenant).where(model.id == object_id))
    if found is None:
        raise not_found(error_code, kind, object_id)
    return found


def list_page(session: Session, query: Select[tuple[R]], model: type[R], page: Page) -> Sequence[R]:
    """Newest first; ``starting_after`` continues towards older objects, ``ending_before`` towards newer."""
    cursor_id = page.starting_after or page.ending_before
    if cursor_id:
        cursor = session.scalar(select(model.seq).where(model.id == cursor_id))
        if cursor is None:
            field = "starting_after" if page.starting_after else "ending_before"
            raise invalid_input(f"{field}: no such object '{cursor_id}'")
        if page.starting_after:
            query = query.where(model.seq < cursor)
        else:
            newer = list(
                session.scalars(query.where(model.seq > cursor).order_by(model.seq.asc()).limit(page.limit))
            )
            return list(reversed(newer))
    return list(session.scalars(query.order_by(model.seq.desc()).limit(page.limit)))


def now() -> int:
    return int(time.time())


def deleted_body(obj: TenantResource, object_name: str) -> dict[str, Any]:
    return {"id": obj.id, "object": object_name, "deleted": True, "deleted_at": obj.deleted_at}
