"""The request's way to running workflows (the server's Temporal client, from the route's thread)."""

from fastapi import Request

from services.workflow_calls import WorkflowCalls


def workflows(request: Request) -> WorkflowCalls:
    return WorkflowCalls(request.app.state.temporal)
