"""What every hosted page shares: its templates, and answers no cache keeps."""

from collections.abc import Callable
from pathlib import Path

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from domain.errors import DomainError, Refusal

NO_STORE = {"Cache-Control": "no-store"}  # personal data; and Back must ask the server, not a cache


def _nonce(request: Request) -> dict[str, str]:
    """The Content-Security-Policy nonce of this response, for the page's own inline scripts, and the CSRF
    token every form carries (api/hosted/security.py)."""
    return {
        "csp_nonce": getattr(request.state, "csp_nonce", ""),
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }


TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates", context_processors=[_nonce])


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def refusal_page(request: Request, status: int, heading: str, text: str) -> Response:
    """What a refusal on a hosted path looks like to the contractor's browser: a page, not the API's JSON."""
    context = {"organization_name": "gigcover", "heading": heading, "steps": None, "message": text}
    return TEMPLATES.TemplateResponse(request, "ended.html", context, status_code=status, headers=NO_STORE)


# A refusal answered to a page's own script (JSON): its HTTP status by kind (409 for the rest).
JSON_STATUS = {Refusal.NOT_FOUND: 404, Refusal.UNAVAILABLE: 503, Refusal.DECLINED: 402}


def challenge_answer(challenge: Callable[[], str | None]) -> Response:
    """For a page's script about to run a bank's challenge (3-D Secure): the client secret ``challenge``
    returns (null: none is needed any more), or its refusal's message, as JSON."""
    try:
        secret = challenge()
    except DomainError as refused:
        status = JSON_STATUS.get(refused.kind, 409)
        return JSONResponse({"error": refused.message}, status_code=status, headers=NO_STORE)
    return JSONResponse({"client_secret": secret}, headers=NO_STORE)
