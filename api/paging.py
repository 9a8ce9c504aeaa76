"""The list endpoints' pagination parameters."""

from typing import Annotated, Any

from fastapi import Depends, Query

from api.errors import invalid_input
from db.models import TenantResource
from services.lookups import Page


def page_params(
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Page:
    if starting_after and ending_before:
        raise invalid_input("starting_after and ending_before cannot be used together")
    return Page(limit=limit, starting_after=starting_after, ending_before=ending_before)


PageParams = Annotated[Page, Depends(page_params)]


def deleted_body(obj: TenantResource, object_name: str) -> dict[str, Any]:
    return {"id": obj.id, "object": object_name, "deleted": True, "deleted_at": obj.deleted_at}
