"""Public identifiers: a resource prefix and random base62, Stripe style (``cn_4fG8…``)."""

import secrets
import string

from ulid import ULID

_BASE62 = string.digits + string.ascii_letters
RANDOM_PART_LENGTH = 16

PREFIXES = {
    "organization": "org",
    "entity": "en",
    "contractor": "cn",
    "job_category": "jc",
    "job": "jb",
    "quote": "qt",
    "policy": "pl",
    "assignment": "an",
    "invoice": "in",
    "event": "ev",
    "webhook_endpoint": "whe",
    "webhook_delivery": "whd",
    "email": "em",
    "document": "doc",
    "bill": "bl",
    "request": "req",
    "creatoriq_connection": "ciqc",
    "creatoriq_creator": "ciqs",
    "member": "mem",
    "api_key": "ak",
    "insurance_requirement": "ir",
    "certificate": "ci",
}


def random_base62(length: int = RANDOM_PART_LENGTH) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def new_id(kind: str) -> str:
    if kind == "application_session":
        return new_session_id()  # sortable by time, like 1099Policy's own session ids
    if kind == "bill":
        return f"bl_{ULID()}"  # the one shape of bill ids (common/bill_ids.py)
    return f"{PREFIXES[kind]}_{random_base62()}"


def new_session_id() -> str:
    return f"ias_{ULID()}"


def new_document_token() -> str:
    """The unguessable part of a document's URL (190 bits)."""
    return random_base62(32)


def new_webhook_secret() -> str:
    return f"whsec_{random_base62(32)}"
