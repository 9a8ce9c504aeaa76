"""A workflow message's wire name with the types it carries, declared once beside the workflow's contract.

The workflow declares its handler with the name (``@workflow.update(name=ADJUST.name)``); callers pass the
whole object (``WorkflowCalls.update(workflow_id, ADJUST, adjustment)``), so the name, the argument and the
answer's type cannot drift apart between the two sides."""

from dataclasses import dataclass
from typing import Generic, TypeVar

Arg = TypeVar("Arg")
Result = TypeVar("Result")


@dataclass(frozen=True)
class UpdateName(Generic[Arg, Result]):
    """An Update; ``Arg`` is ``None`` for one that takes no argument."""

    name: str
    result_type: type[Result]


@dataclass(frozen=True)
class QueryName(Generic[Result]):
    name: str
    result_type: type[Result]


@dataclass(frozen=True)
class SignalName(Generic[Arg]):
    name: str
