"""INSERT … ON CONFLICT for the two databases we run on: both dialects have it, under their own names."""

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, model: type[Any]) -> Any:
    """An INSERT of ``model`` in the session's dialect, with ``on_conflict_do_update`` and ``excluded``."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)
