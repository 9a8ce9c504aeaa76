"""Rendering dashboard pages: one layout, the nonce and CSRF token of this response, the viewer, the nav."""

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.dashboard import labels
from api.dashboard.words import page_words
from api.errors import STATUS_OF
from common.validation import validated
from domain.errors import DomainError, Refusal
from domain.roles import Capability
from notifications.render import date, datetime_utc, money

# (path, label, capability needed to see it)
NAV = [
    ("/dashboard", "Overview", Capability.READ),
    ("/dashboard/contractors", "Contractors", Capability.READ),
    ("/dashboard/jobs", "Jobs & entities", Capability.READ),
    ("/dashboard/job-codes", "Job codes", Capability.READ),
    ("/dashboard/premium-calculator", "Premium calculator", Capability.READ),
    ("/dashboard/requirements", "Insurance requirements", Capability.READ),
    ("/dashboard/assignments", "Assignments", Capability.READ),
    ("/dashboard/certificates", "Certificates", Capability.READ),
    ("/dashboard/billing", "Billing", Capability.READ),
    ("/dashboard/webhooks", "Webhooks", Capability.READ),
    ("/dashboard/events", "Events", Capability.READ),
    ("/dashboard/api-keys", "API keys", Capability.ADMINISTER),
    ("/dashboard/settings", "Settings", Capability.READ),
    ("/dashboard/team", "Team", Capability.ADMINISTER),
    ("/dashboard/audit", "Audit log", Capability.ADMINISTER),
]

# What a redirect may tell the next page: keys only, so a crafted link cannot put words on our pages.
NOTICES = {
    "signed_out": "You are signed out.",
    "password_set": "Your password is set: sign in with it.",
    "reset_sent": "If an account has that email, a reset link is on its way.",
    "invited": "Invitation sent.",
    "role_changed": "Role changed.",
    "member_removed": "Member removed.",
    "saved": "Saved.",
    "created": "Created.",
    "deleted": "Deleted.",
    "cancelled": "Cancelled.",
    "extended": "Extended.",
    "recorded": "Recorded.",
    "resent": "Sent again.",
    "revoked": "Revoked.",
    "expired": "Expired.",
    "sync_started": "Sync started.",
    "final_pay_reported": "Final pay reported: the adjustment it caused is under Money moved.",
    "creatoriq_saved": "CreatorIQ accepted the key: it is saved.",
    "rule_approved": "Rule approved.",
    "certificate_approved": "Certificate approved.",
    "certificate_denied": "Certificate denied.",
    "link_sent": "Upload link sent.",
}


def _context(request: Request) -> dict[str, Any]:
    viewer = getattr(request.state, "viewer", None)
    nav = [item for item in NAV if viewer is not None and viewer.may(item[2])]
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return {
        "csp_nonce": getattr(request.state, "csp_nonce", ""),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "viewer": viewer,
        "nav": nav,
        "current_path": request.url.path,
        "notice": notice,
    }


TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates", context_processors=[_context])
TEMPLATES.env.filters.update(money=money, date=date, datetime=datetime_utc, words=labels.words)
TEMPLATES.env.globals.update(email_problem=labels.email_problem)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def redirect(path: str, notice: str | None = None, **query: str) -> RedirectResponse:
    params = {**query, **({"notice": notice} if notice else {})}
    return RedirectResponse(f"{path}?{urlencode(params)}" if params else path, status_code=303)


M = TypeVar("M", bound=BaseModel)


def form_model(model: type[M], **fields: Any) -> M:
    """A service's input model from form fields; a field that does not fit is a DomainError, as in the API."""
    return validated(model, fields)


def refused(
    session: Session,
    error: DomainError,
    show: Callable[..., Response],
    *,
    not_found_page: bool = False,
    status: int | None = None,
    **context: Any,
) -> Response:
    """A change a service refused, answered on the page it was asked from: whatever the service began is
    rolled back, and ``show(status=…, error=…, **context)`` renders the page again with the refusal's message
    and the API's status for it (or ``status``). With ``not_found_page``, an object that is not the viewer's
    gets the not-found page instead, as the API answers 404. The message is in the page's users' words
    (``api/dashboard/words.py``), not the API's."""
    if not_found_page and error.kind == Refusal.NOT_FOUND:
        # the not-found page, in the page's words too (safe HTML: a str the page does not escape again)
        raise DomainError(error.code, page_words(error), error.field, error.kind, error.facts) from error
    session.rollback()
    return show(status=status or STATUS_OF[error.kind], error=page_words(error), **context)
