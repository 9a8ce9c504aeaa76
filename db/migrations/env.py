from collections import Counter

from alembic import context
from sqlalchemy import Connection

from common.settings import get_settings
from db.engine import make_engine
from db.models import Base

config = context.config
url = config.attributes.get("url") or get_settings().resolved_database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _broken_references(connection: Connection) -> Counter[tuple[str, str]]:
    """SQLite's references to missing rows, counted by table and the table they name."""
    rows = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    return Counter((table, parent) for table, _rowid, parent, _key in rows)


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table (copy, drop, rename); with foreign keys enforced, dropping a
            # table other rows point at fails. SQLite's own advice: turn them off around the change (only
            # possible outside a transaction), then check that the migration broke no reference.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
            broken_before = _broken_references(connection)
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = _broken_references(connection) - broken_before
                if broken:
                    raise RuntimeError(f"the migration left references to missing rows: {sorted(broken)[:5]}")
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
