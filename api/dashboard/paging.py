"""Pages of a list, 50 rows at a time, newest first, with "Older" and "Newer" links that keep the filters.
Any tenant-scoped list the services page with services.lookups.list_page fits."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, Protocol, TypeVar
from urllib.parse import urlencode

from fastapi import Query

from domain.limits import MAX_INT32
from services.lookups import Page, page_after

__all__ = ["NumberCursor", "Window", "page_after", "window"]

PER_PAGE = 50
# A number cursor in a link (?before=, ?emails_before=): a row number as its column holds it (32-bit),
# else a 400 page; past it the database cannot compare it (SQLite past 64 bits, PostgreSQL past 32).
NumberCursor = Annotated[int | None, Query(ge=0, le=MAX_INT32)]


class Listed(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=Listed)


@dataclass(frozen=True)
class Window(Generic[R]):
    rows: list[R]
    older_url: str | None
    newer_url: str | None


def _link(path: str, filters: Mapping[str, str | None], **cursor: str) -> str:
    query = {k: v for k, v in filters.items() if v} | cursor
    return f"{path}?{urlencode(query)}" if query else path


def window(
    fetch: Callable[[Page], Sequence[R]],
    path: str,
    starting_after: str | None = None,
    ending_before: str | None = None,
    filters: Mapping[str, str | None] | None = None,
    per_page: int = PER_PAGE,
) -> Window[R]:
    """One page from ``fetch`` (a list_page call), asking for one row more than it shows to know whether
    there is another page beyond it. ``filters`` are the query parameters the links carry along."""
    filters = filters or {}
    if starting_after:
        ending_before = None
    rows = list(fetch(Page(limit=per_page + 1, starting_after=starting_after, ending_before=ending_before)))
    more = len(rows) > per_page
    if ending_before:  # the rows just newer than the cursor: the one beyond is the newest, first
        rows = rows[-per_page:] if more else rows
        older, newer = bool(rows), more
    else:
        rows = rows[:per_page]
        older, newer = more, bool(starting_after and rows)
    return Window(
        rows,
        _link(path, filters, starting_after=rows[-1].id) if older else None,
        _link(path, filters, ending_before=rows[0].id) if newer else None,
    )
