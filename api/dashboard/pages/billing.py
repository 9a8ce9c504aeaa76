"""Billing: the organization's premium bills by status with totals, each bill (its lines with the job,
coverage and period they are for, its PDF, PO number and contact, recording a payment the organization made),
a CSV export, and the organization's billing details and contact. Everyone reads; finance and admins
change, each change audited by the service that makes it."""

from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.dashboard.amounts import cents
from api.dashboard.auth import CurrentViewer, Finance, Viewer
from api.dashboard.rendering import form_model, page, redirect, refused
from api.dashboard.settings_view import settings_page
from api.dashboard.words import page_words
from api.deps import AppSettings, DbSession
from domain.errors import DomainError
from domain.statuses import BillStatus
from services import billing
from services.billing import BillPayment
from services.organization import OrganizationSettings, update_settings
from services.pickers import Typed

router = APIRouter()
PER_PAGE = 50
# Back to where the billing details form was sent from (the Billing page or Settings), nowhere else.
DETAILS_PAGES = {"billing": "/dashboard/billing", "settings": "/dashboard/settings"}


def _billing(
    request: Request,
    session: Session,
    viewer: Viewer,
    status_filter: str = "",
    contractor: Typed | None = None,
    after: str = "",
    status: int = 200,
    **context: Any,
) -> Response:
    typed = contractor or Typed()
    shown = billing.list_bills(session, viewer.tenant, status_filter, typed, after or None, PER_PAGE)
    if shown.unresolved is not None and "error" not in context:
        context["error"] = page_words(shown.unresolved)
    picked = shown.contractor
    chosen = shown.unresolved.facts.get("choices") if shown.unresolved is not None else None
    picker = {
        "text": picked.label if picked else typed.text,
        "id": picked.id if picked else "",
        "choices": chosen if isinstance(chosen, list) else [],
    }
    kept = {"status": status_filter, "contractor": picker["text"], "contractor_id": picker["id"]}
    kept = {k: v for k, v in kept.items() if v}
    return page(
        request,
        "billing.html",
        status,
        bills=shown.listing.rows,
        names=shown.names,
        totals=shown.totals,
        statuses=billing.SHOWN_STATUSES,
        filters={"status": status_filter},
        contractor_picker=picker,
        kept_query=urlencode(kept),
        older=shown.listing.older,
        org=shown.organization,
        details_from="billing",
        **context,
    )


@router.get("/billing", response_class=HTMLResponse)
def billing_page(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    status: str = "",
    contractor: Annotated[str, Query(max_length=200)] = "",
    contractor_id: Annotated[str, Query(max_length=40)] = "",
    contractor_choice: Annotated[str, Query(max_length=40)] = "",
    after: str = "",
) -> Response:
    typed = Typed(contractor, contractor_choice or contractor_id)
    return _billing(request, session, viewer, status.strip(), typed, after.strip())


@router.get("/billing/bills.csv")
def export(
    session: DbSession,
    viewer: CurrentViewer,
    status: str = "",
    contractor: Annotated[str, Query(max_length=200)] = "",
    contractor_id: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The bills the page shows (the same filters, every page of them), as services.billing exports them."""
    status = status.strip()
    name = f"bills-{viewer.environment}{'-' + status if status in set(BillStatus) else ''}.csv"
    return Response(
        billing.export_bills(session, viewer.tenant, status, Typed(contractor, contractor_id)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _bill_page(
    request: Request, session: Session, viewer: Viewer, bill_id: str, status: int = 200, **context: Any
) -> Response:
    shown = billing.bill_overview(session, viewer.tenant, bill_id)
    return page(
        request,
        "bill.html",
        status,
        bill=shown.bill,
        names=shown.names,
        remaining=shown.remaining,
        lines=shown.lines,
        org=shown.organization,
        **context,
    )


@router.get("/billing/bills/{bill_id}", response_class=HTMLResponse)
def bill_page(request: Request, bill_id: str, session: DbSession, viewer: CurrentViewer) -> Response:
    return _bill_page(request, session, viewer, bill_id)


@router.post("/billing/bills/{bill_id}/pay")
def record_payment(
    request: Request,
    bill_id: str,
    session: DbSession,
    viewer: Finance,
    amount: Annotated[str, Form(max_length=40)] = "",
    reference: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        body = form_model(BillPayment, amount=cents(amount, "amount"), reference=reference)
        bill = billing.pay_bill(session, viewer.tenant, bill_id, body, viewer.actor)
    except DomainError as error:
        # another organization's bill: the not-found page, as the API answers 404
        show = partial(_bill_page, request, session, viewer, bill_id)
        return refused(
            session, error, show, not_found_page=True, form={"amount": amount, "reference": reference}
        )
    return redirect(f"/dashboard/billing/bills/{bill.id}", "recorded")


@router.post("/billing/details")
def save_details(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Finance,
    billing_contact_name: Annotated[str, Form(max_length=200)] = "",
    billing_contact_email: Annotated[str, Form(max_length=320)] = "",
    line1: Annotated[str, Form(max_length=200)] = "",
    line2: Annotated[str, Form(max_length=200)] = "",
    locality: Annotated[str, Form(max_length=100)] = "",
    region: Annotated[str, Form(max_length=40)] = "",
    postalcode: Annotated[str, Form(max_length=20)] = "",
    back_to: Annotated[str, Form(max_length=20)] = "billing",
) -> Response:
    """The organization's billing contact and address (PUT /organization with these three fields)."""
    address = {"line1": line1, "line2": line2 or None, "locality": locality, "region": region}
    address["postalcode"] = postalcode
    fields: dict[str, Any] = {
        "billing_contact_name": billing_contact_name or None,
        "billing_contact_email": billing_contact_email or None,
        "billing_address": address if any([line1, line2, locality, region, postalcode]) else None,
    }
    target = DETAILS_PAGES.get(back_to, DETAILS_PAGES["billing"])
    try:
        body = form_model(OrganizationSettings, **fields)
        update_settings(session, viewer.tenant, body, settings, actor=viewer.actor)
    except DomainError as error:
        form = {"billing_contact_name": billing_contact_name, "billing_contact_email": billing_contact_email}
        form |= {
            "line1": line1,
            "line2": line2,
            "locality": locality,
            "region": region,
            "postalcode": postalcode,
        }
        show = partial(settings_page if back_to == "settings" else _billing, request, session, viewer)
        return refused(session, error, show, details_form=form)
    return redirect(target, "saved")
