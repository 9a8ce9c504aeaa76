"""Columns that hold a secret encrypted (common/encryption.py): code reads and writes plain text, the
database only ever sees ``fernet:…``. And re-encrypting all of them, for migrations 0009 and 0016 and
``manage.py rotate-secrets``."""

from typing import Any

from sqlalchemy import Connection, Text, column, inspect, select, table, update
from sqlalchemy.types import TypeDecorator

from common.encryption import PREFIX, SecretBox, box

# Every sealed column, by table (with its primary key): what rotate-secrets re-encrypts.
SEALED_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "webhook_endpoints": ("seq", ("secret", "previous_secret")),
    "creatoriq_connections": ("seq", ("api_key",)),
    "idempotency_records": ("id", ("response_body",)),  # some responses show a secret once
    "email_messages": ("seq", ("sealed_message",)),  # an undelivered email's capability links
    "contractors": ("seq", ("tax_identification",)),  # SSNs and EINs (migration 0016)
}
Columns = dict[str, tuple[str, tuple[str, ...]]]


class SealedText(TypeDecorator[str]):
    """Text encrypted with the process's keys before it is stored, decrypted when it is read. (Queries
    cannot compare such a column with a value: each encryption of the same text differs.)"""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else box().seal(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else box().open(value)


def reseal_all(
    connection: Connection,
    secrets: SecretBox,
    *,
    only_plain_text: bool = False,
    columns: Columns | None = None,
) -> int:
    """Encrypt every stored secret again under the first key (or, with ``only_plain_text``, only those
    still stored in plain text); ``columns``: only those (a migration seals the columns it made sealed,
    whatever later releases add). Returns how many values were written. The caller commits."""
    written = 0
    schema = inspect(connection)
    for name, (key, all_names) in (SEALED_COLUMNS if columns is None else columns).items():
        # a migration older than some column re-encrypts only what exists at its point in history
        present = {c["name"] for c in schema.get_columns(name)} if schema.has_table(name) else set()
        names = tuple(c for c in all_names if c in present)
        if not names:
            continue
        rows = table(name, column(key), *(column(c) for c in names))
        for row in connection.execute(select(rows)).mappings():
            changes = {}
            for c in names:
                stored = row[c]
                if stored is None or (only_plain_text and stored.startswith(PREFIX)):
                    continue
                changes[c] = secrets.reseal(stored)
            if changes:
                connection.execute(update(rows).where(rows.c[key] == row[key]).values(**changes))
                written += len(changes)
    return written
