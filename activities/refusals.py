"""An operation's refusal inside an activity: retrying cannot change the answer, so the activity fails for
good with the refusal's code and message (the workflow decides what follows)."""

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.exceptions import ApplicationError

from domain.errors import DomainError


@contextmanager
def refusals_are_final() -> Iterator[None]:
    try:
        yield
    except DomainError as refused:
        details = [refused.field] if refused.field else []
        raise ApplicationError(refused.message, *details, type=refused.code, non_retryable=True) from None
