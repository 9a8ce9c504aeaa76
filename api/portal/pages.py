"""The contractor portal, ``/my``: sign in with a link emailed to the address on file, then see coverage,
certificates, assignments, charges, payments and refunds in every organization that covers you, and
replace your card (the only place to). Parses, calls one service, renders (services/portal*.py)."""

from typing import Annotated
from urllib.parse import quote as urlquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.client_address import client_address
from api.deps import AppSettings, DbSession, Workflows
from api.hosted.rendering import NO_STORE, TEMPLATES, redirect
from api.hosted.security import page_messages
from api.portal.security import limits_of, session_cookie, session_token
from common.durations import in_words
from common.settings import Settings
from domain.errors import DomainError, Refusal
from notifications.render import date, money
from services import portal, portal_links
from services.portal_links import LinkState, SignedIn

router = APIRouter(include_in_schema=False)
TITLE = "Your insurance portal"
STATUS = {Refusal.NOT_FOUND: 404, Refusal.UNAVAILABLE: 503, Refusal.DECLINED: 402}


def _page(request: Request, template: str, status: int = 200, **context: object) -> Response:
    context = {"organization_name": TITLE, "steps": None, "money": money, "date": date, **context}
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status, headers=NO_STORE)


def _message(request: Request, heading: str, text: str, status: int, again: bool = True) -> Response:
    return _page(request, "portal_message.html", status, heading=heading, message=text, again=again)


def _viewer(request: Request, session: DbSession) -> SignedIn | None:
    return portal_links.signed_in(session, session_token(request))


@router.get("/my")
def portal_root() -> Response:
    return redirect("/my/home")


@router.get("/my/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, error: str | None = None, sig: str | None = None) -> Response:
    return _page(request, "portal_sign_in.html", error=page_messages().shown("sign-in", error, sig))


@router.post("/my/sign-in")
def ask_for_link(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """The same answer whether or not the address is on file (and the same time: api/portal/security.py)."""
    address = portal_links.address_of(email)
    if "@" not in address or len(address) < 3:
        return _page(request, "portal_sign_in.html", 400, error="Enter the email address your platform has.")
    limits = limits_of(request)
    client = client_address(request.scope) or "unknown"
    wait = limits.per_client.hit(session, limits.client_bucket(client)) or limits.per_address.hit(
        session, limits.address_bucket(address)
    )
    if wait is not None:
        minutes = max(1, -(-wait // 60))
        text = f"Too many sign-in links were asked for. Please try again in {minutes} minutes."
        return _page(request, "portal_sign_in.html", 429, error=text)
    portal_links.request_link(session, settings, address)
    return _page(
        request, "portal_sent.html", address=address, lifetime=in_words(settings.portal_link_lifetime_seconds)
    )


@router.get("/my/link", response_class=HTMLResponse)
@router.get("/my/card", response_class=HTMLResponse)
def no_page(request: Request, error: str | None = None, sig: str | None = None) -> Response:
    """Where a refused form (the CSRF check) lands without its page: say so, offer a new start."""
    shown = page_messages().shown(request.url.path.rsplit("/", 1)[1], error, sig)
    return _message(request, "Please try again", shown or "Open the portal again.", 400)


def _spent(settings: Settings) -> str:
    """Why a sign-in link no longer works, with the lifetime this deployment gives links."""
    lifetime = in_words(settings.portal_link_lifetime_seconds)
    return f"Sign-in links work once, for {lifetime}. Ask for a new one."


@router.get("/my/link/{token}", response_class=HTMLResponse)
def link_page(request: Request, token: str, session: DbSession, settings: AppSettings) -> Response:
    """Only a button: an email scanner that opens the link spends nothing; the contractor's click does."""
    state = portal_links.link_state(session, token)
    if state is LinkState.UNKNOWN:  # a 404: counted by the hosted-link throttle
        return _message(request, "This link does not work", "Check that you opened the whole link.", 404)
    if state is not LinkState.OPEN:
        return _message(request, "This link does not work any more", _spent(settings), 410)
    return _page(request, "portal_link.html", action=f"/my/link/{token}")


@router.post("/my/link/{token}")
def use_link(request: Request, token: str, session: DbSession, settings: AppSettings) -> Response:
    signed = portal_links.sign_in(session, settings, token)
    if signed is None:
        return _message(request, "This link does not work any more", _spent(settings), 410)
    response = redirect("/my/home")
    response.headers.append("set-cookie", session_cookie(settings, signed, settings.portal_session_seconds))
    return response


@router.get("/my/home", response_class=HTMLResponse)
def home(
    request: Request,
    session: DbSession,
    workflows: Workflows,
    error: str | None = None,
    sig: str | None = None,
) -> Response:
    viewer = _viewer(request, session)
    if viewer is None:
        return redirect("/my/sign-in")
    groups = portal.overview(session, viewer, workflows)
    error = page_messages().shown("home", error, sig)
    return _page(request, "portal_home.html", groups=groups, email=viewer.email, error=error)


@router.post("/my/home/sign-out")
def sign_out(request: Request, session: DbSession, settings: AppSettings) -> Response:
    portal_links.sign_out(session, session_token(request))
    response = _message(request, "You are signed out", "Sign in again any time with a new link.", 200)
    response.headers.append("set-cookie", session_cookie(settings, "", 0))
    return response


@router.get("/my/certificates/{policy_id}")
def download_certificate(
    request: Request, policy_id: str, session: DbSession, settings: AppSettings
) -> Response:
    viewer = _viewer(request, session)
    if viewer is None:
        return redirect("/my/sign-in")
    try:
        pdf = portal.certificate(session, settings, viewer, policy_id)
    except DomainError as refused:
        return _message(request, "No such certificate", refused.message, 404)
    return Response(
        pdf.data,
        media_type="application/pdf",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{pdf.filename}"'},
    )


@router.get("/my/card/{record_id}", response_class=HTMLResponse)
def card_page(
    request: Request,
    record_id: str,
    session: DbSession,
    settings: AppSettings,
    workflows: Workflows,
    saved: bool = False,
    error: str | None = None,
    sig: str | None = None,
) -> Response:
    viewer = _viewer(request, session)
    if viewer is None:
        return redirect("/my/sign-in")
    try:
        form = portal.card_form(session, settings, viewer, record_id, workflows)
    except DomainError as refused:
        return _message(request, "Nothing here", refused.message, 404)
    return _page(
        request,
        "portal_card.html",
        form=form,
        sandbox=form.sandbox,
        just_saved=saved,
        error=page_messages().shown("card", error, sig),
        action=f"/my/card/{record_id}",
        setup_url=f"/my/card/{record_id}/setup",
        publishable_key=form.publishable_key,
        stripe_js_url=form.stripe_js_url,
        card_button="Save card",
    )


@router.post("/my/card/{record_id}/setup")
def start_card_setup(request: Request, record_id: str, session: DbSession, settings: AppSettings) -> Response:
    viewer = _viewer(request, session)
    if viewer is None:
        return JSONResponse({"error": "Please sign in again."}, status_code=401, headers=NO_STORE)
    try:
        secret = portal.start_card_setup(session, settings, viewer, record_id)
    except DomainError as refused:
        return JSONResponse(
            {"error": refused.message}, status_code=STATUS.get(refused.kind, 409), headers=NO_STORE
        )
    return JSONResponse({"client_secret": secret}, headers=NO_STORE)


@router.post("/my/card/{record_id}")
def replace_card(
    request: Request,
    record_id: str,
    session: DbSession,
    settings: AppSettings,
    workflows: Workflows,
    payment_method_id: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    viewer = _viewer(request, session)
    if viewer is None:
        return redirect("/my/sign-in")
    try:
        portal.replace_card(
            session,
            settings,
            viewer,
            record_id,
            payment_method_id,
            workflows,
            client_address(request.scope) or "",
        )
    except DomainError as refused:
        if refused.kind is Refusal.NOT_FOUND:
            return _message(request, "Nothing here", refused.message, 404)
        signature = page_messages().sign("card", refused.message)
        return redirect(f"/my/card/{record_id}?error={urlquote(refused.message)}&sig={signature}")
    return redirect(f"/my/card/{record_id}?saved=true")
