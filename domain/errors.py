"""The one error a business operation raises when it refuses: a code, a message and the field it concerns.

Each front maps it to its own form: the API to its error JSON (the kind picks the HTTP status), a page to a
message on the page, an activity to a non-retryable application error."""

from collections.abc import Mapping
from enum import StrEnum


class Refusal(StrEnum):
    INVALID = "invalid"  # the input cannot be used as it is
    NOT_FOUND = "not_found"  # no such object for this tenant
    CONFLICT = "conflict"  # the object's state forbids it now
    FORBIDDEN = "forbidden"  # this caller may not do it (a sandbox key, an organization-wide setting)
    DECLINED = "declined"  # the card was declined
    UNAVAILABLE = "unavailable"  # our own services did not answer in time; try again
    UPSTREAM = "upstream"  # a third party we called (CreatorIQ) failed


class DomainError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        kind: Refusal = Refusal.INVALID,
        facts: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.field, self.kind = code, message, field, kind
        # what a front may need to say it in its own words (the dashboard's: api/dashboard/words.py)
        self.facts: Mapping[str, object] = facts or {}


def invalid(
    message: str, field: str | None = None, code: str = "invalid_input", **facts: object
) -> DomainError:
    return DomainError(code, message, field, facts=facts)


def not_found(code: str, kind: str, object_id: str) -> DomainError:
    return DomainError(
        code, f"No such {kind}: '{object_id}'", kind=Refusal.NOT_FOUND, facts={"kind": kind, "id": object_id}
    )


def conflict(code: str, message: str) -> DomainError:
    return DomainError(code, message, kind=Refusal.CONFLICT)


def forbidden(message: str, field: str | None = None, code: str = "insufficient_permissions") -> DomainError:
    return DomainError(code, message, field, kind=Refusal.FORBIDDEN)


def unavailable(message: str, code: str = "general") -> DomainError:
    return DomainError(code, message, kind=Refusal.UNAVAILABLE)
