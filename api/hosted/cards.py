"""The page a contractor reaches when their bank asked them to confirm a charge (3-D Secure): confirm it here
with Stripe.js, and that same charge goes through. The link's token (services/cards.py) is the capability;
the assignment's id opens nothing. The page makes nothing at Stripe: its own script asks for the waiting
charge's challenge (``POST /cards/<token>/authenticate``) when the contractor chooses to confirm.

A card is changed only in the contractor portal (/my): this page saves none. An older link, from a charge
reminder or failure email of before the portal, shows the way there."""

from urllib.parse import quote as urlquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import AppSettings, DbSession, Workflows
from api.hosted.rendering import NO_STORE, TEMPLATES, challenge_answer, redirect
from api.hosted.security import page_messages
from domain.errors import DomainError, Refusal
from notifications.render import money
from services import cards
from services.cards import LinkState

router = APIRouter(prefix="/cards", include_in_schema=False)


def _ended(
    request: Request, heading: str, message: str, status: int, organization: str = "gigcover"
) -> Response:
    context = {
        "organization_name": organization,
        "heading": heading,
        "steps": None,
        "cancel_url": None,
        "message": message,
    }
    return TEMPLATES.TemplateResponse(request, "ended.html", context, status_code=status, headers=NO_STORE)


@router.get("/{token}", response_class=HTMLResponse)
def update_card_page(
    token: str,
    request: Request,
    settings: AppSettings,
    workflows: Workflows,
    session: DbSession,
    paid: bool = False,
    error: str | None = None,
    sig: str | None = None,
) -> Response:
    error = page_messages().shown(token, error, sig)  # only a message we wrote for this page
    page = cards.card_page(session, settings, token, workflows)
    if page.state is LinkState.UNKNOWN:  # a 404: counted by the hosted-link throttle
        return _ended(
            request, "This link does not work", "Check that you opened the whole link from your email.", 404
        )
    if page.state is LinkState.EXPIRED:
        return _ended(
            request,
            "This link has expired",
            "Use the link in your newest email about this payment, or ask your platform for help.",
            410,
            page.organization_name,
        )
    if page.state is LinkState.SETTLED:
        return _ended(
            request,
            "Nothing to pay",
            "This assignment is paid in full, cancelled or over: there is no card to update for it.",
            410,
            page.organization_name,
        )
    if page.state is LinkState.OPEN and not page.authenticate:
        context = {
            "organization_name": page.organization_name,
            "steps": None,
            "heading": "Change your card in your insurance portal",
            "message": "Cards are now changed in one place: sign in to your insurance portal with your email "
            "address, and replace your card there. A payment that failed is tried again at once with it.",
            "again": True,
            "link_text": "Sign in to your insurance portal",
        }
        return TEMPLATES.TemplateResponse(request, "portal_message.html", context, headers=NO_STORE)
    context = {
        "organization_name": page.organization_name,
        "sandbox": page.sandbox,
        "steps": None,
        "error": error,
        "amount_due": money(page.amount_due),
        "job_name": page.job_name,
        "reason": page.reason,
        "saved": page.state is LinkState.USED,
        "publishable_key": page.publishable_key,
        "stripe_js_url": page.stripe_js_url,
        "authenticate": page.authenticate,
        "authenticate_url": f"/cards/{token}/authenticate",
        "authenticated_action": f"/cards/{token}/authenticated",
        "just_paid": paid,
    }
    return TEMPLATES.TemplateResponse(request, "update_card.html", context, headers=NO_STORE)


@router.post("/{token}/authenticate")
def start_authentication(
    token: str, settings: AppSettings, workflows: Workflows, session: DbSession
) -> Response:
    """The page's script, once the contractor chose to confirm the waiting charge: its client secret, for
    Stripe.js to run the bank's challenge (null: it needs none any more)."""
    return challenge_answer(lambda: cards.start_authentication(session, settings, token, workflows))


@router.post("/{token}/authenticated")
def finish_authentication(
    token: str, request: Request, settings: AppSettings, workflows: Workflows, session: DbSession
) -> Response:
    """The bank's challenge is over: the charge is taken up if the processor says it went through."""
    try:
        cards.finish_authentication(session, settings, token, workflows)
    except DomainError as refused:
        if refused.kind is Refusal.NOT_FOUND:  # a 404: counted by the hosted-link throttle
            return _ended(
                request,
                "This link does not work",
                "Check that you opened the whole link from your email.",
                404,
            )
        return redirect(_with_message(token, refused.message))
    return redirect(f"/cards/{token}?paid=true")


def _with_message(token: str, message: str) -> str:
    signature = page_messages().sign(token, message)
    return f"/cards/{token}?error={urlquote(message)}&sig={signature}"
