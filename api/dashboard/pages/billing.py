"""Billing: the organization's premium bills by status with totals, each bill (its PDF, PO number and
contact, recording a payment as POST /bills/{id}/pay does), a CSV export, and the organization's billing
details and contact (PUT /organization). Everyone reads; finance and admins change."""

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.dashboard.amounts import cents
from api.dashboard.auth import CurrentViewer, Finance, Viewer
from api.dashboard.pages.org_settings import settings_page_response
from api.dashboard.paging import page_after
from api.dashboard.rendering import form_model, page, redirect
from api.deps import DbSession
from api.errors import STATUS_OF
from db.models import Bill, Contractor, Organization
from domain.errors import DomainError
from domain.statuses import BillStatus
from services import audit, billing
from services.billing import BillPayment
from services.lookups import Page, filtered, list_page, scoped
from services.organization import OrganizationSettings, update_settings

router = APIRouter()
PER_PAGE = 50
EXPORT_LIMIT = 10_000
STATUSES = [BillStatus.OPEN, BillStatus.OVERDUE, BillStatus.PAID, BillStatus.VOID]
CSV_COLUMNS = [
    "id",
    "status",
    "bill_date",
    "due_date",
    "amount_due",
    "amount_paid",
    "amount_remaining",
    "contractor",
    "job",
    "assignment",
    "purchase_order_number",
    "po_contact_name",
    "po_contact_email",
    "payment_reference",
    "paid_at",
    "pdf_url",
]
# Back to where the billing details form was sent from (the Billing page or Settings), nowhere else.
DETAILS_PAGES = {"billing": "/dashboard/billing", "settings": "/dashboard/settings"}


def totals(session: Session, viewer: Viewer) -> dict[str, dict[str, int]]:
    """Per status: how many bills, what they were for and what is still due (one grouped, indexed query)."""
    tenant = viewer.tenant
    rows = session.execute(
        select(Bill.status, func.count(), func.sum(Bill.amount_due), func.sum(Bill.amount_paid))
        .where(
            Bill.organization_id == tenant.organization_id,
            Bill.environment == tenant.environment,
            Bill.deleted_at.is_(None),
        )
        .group_by(Bill.status)
    )
    found = {
        # PostgreSQL sums 64-bit columns as NUMERIC (a Decimal): amounts are integer cents
        status: {
            "count": count,
            "amount_due": int(due or 0),
            "remaining": max(int(due or 0) - int(paid or 0), 0),
        }
        for status, count, due, paid in rows
    }
    return {s.value: found.get(s.value, {"count": 0, "amount_due": 0, "remaining": 0}) for s in STATUSES}


def _query(viewer: Viewer, status: str, contractor: str) -> Any:
    return filtered(
        scoped(Bill, viewer.tenant), {Bill.status: status or None, Bill.contractor_id: contractor or None}
    )


def _contractor_names(session: Session, bills: list[Bill]) -> dict[str, str]:
    ids = {b.contractor_id for b in bills}
    rows = list(session.scalars(select(Contractor).where(Contractor.id.in_(ids)))) if ids else []
    return {c.id: f"{c.first_name} {c.last_name}" for c in rows}


def _organization(session: Session, viewer: Viewer) -> Organization:
    org = session.get(Organization, viewer.tenant.organization_id)
    assert org is not None
    return org


def _billing(
    request: Request,
    session: Session,
    viewer: Viewer,
    status: str = "",
    contractor: str = "",
    after: str = "",
    status_code: int = 200,
    **context: Any,
) -> Response:
    bills, older = page_after(
        lambda limit: list_page(
            session, _query(viewer, status, contractor), Bill, Page(limit=limit, starting_after=after or None)
        ),
        PER_PAGE,
    )
    return page(
        request,
        "billing.html",
        status_code,
        bills=bills,
        names=_contractor_names(session, bills),
        totals=totals(session, viewer),
        statuses=STATUSES,
        filters={"status": status, "contractor": contractor},
        older=older,
        org=_organization(session, viewer),
        details_from="billing",
        **context,
    )


@router.get("/billing", response_class=HTMLResponse)
def billing_page(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    status: str = "",
    contractor: str = "",
    after: str = "",
) -> Response:
    return _billing(request, session, viewer, status.strip(), contractor.strip(), after.strip())


def _cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _dollars(amount: int | None) -> str:
    amount = amount or 0
    return f"{'-' if amount < 0 else ''}{abs(amount) // 100}.{abs(amount) % 100:02d}"


@router.get("/billing/bills.csv")
def export(session: DbSession, viewer: CurrentViewer, status: str = "", contractor: str = "") -> Response:
    """The bills the page shows (the same filters, every page of them up to EXPORT_LIMIT), newest first;
    amounts in dollars, dates as YYYY-MM-DD (UTC)."""

    def day(ts: int | None) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d") if ts else ""

    bills = session.scalars(
        _query(viewer, status.strip(), contractor.strip()).order_by(Bill.seq.desc()).limit(EXPORT_LIMIT)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for b in bills:
        paid = b.amount_paid or 0
        row = [
            b.id,
            b.status,
            day(b.bill_date),
            day(b.due_date),
            _dollars(b.amount_due),
            _dollars(paid),
            _dollars(max(b.amount_due - paid, 0)),
            b.contractor_id,
            b.job_id,
            b.assignment_id,
            b.purchase_order_number,
            b.po_contact_name,
            b.po_contact_email,
            b.payment_reference,
            day(b.paid_at),
            b.pdf_url,
        ]
        writer.writerow([_cell(v) if v is not None else "" for v in row])
    name = (
        f"bills-{viewer.environment}{'-' + status.strip() if status.strip() in set(BillStatus) else ''}.csv"
    )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _bill_page(
    request: Request, session: Session, viewer: Viewer, bill_id: str, status_code: int = 200, **context: Any
) -> Response:
    bill = billing.get_bill(session, viewer.tenant, bill_id)
    return page(
        request,
        "bill.html",
        status_code,
        bill=bill,
        names=_contractor_names(session, [bill]),
        remaining=max(bill.amount_due - (bill.amount_paid or 0), 0),
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
        bill = billing.pay_bill(session, viewer.tenant, bill_id, body)
    except DomainError as error:
        if STATUS_OF[error.kind] == 404:
            raise  # another organization's bill: the not-found page, as the API answers 404
        session.rollback()
        form = {"amount": amount, "reference": reference}
        return _bill_page(
            request, session, viewer, bill_id, STATUS_OF[error.kind], error=error.message, form=form
        )
    viewer.audit(
        session,
        "bill.payment_recorded",
        bill.id,
        amount=body.amount,
        reference=body.reference,
        status=bill.status,
    )
    session.commit()
    return redirect(f"/dashboard/billing/bills/{bill.id}", "recorded")


@router.post("/billing/details")
def save_details(
    request: Request,
    session: DbSession,
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
        update_settings(session, viewer.tenant, body, from_dashboard=True)
    except DomainError as error:
        session.rollback()
        form = {"billing_contact_name": billing_contact_name, "billing_contact_email": billing_contact_email}
        form |= {
            "line1": line1,
            "line2": line2,
            "locality": locality,
            "region": region,
            "postalcode": postalcode,
        }
        if back_to == "settings":
            return settings_page_response(
                request, session, viewer, STATUS_OF[error.kind], error=error.message, details_form=form
            )
        return _billing(
            request,
            session,
            viewer,
            status_code=STATUS_OF[error.kind],
            error=error.message,
            details_form=form,
        )
    audit.record(
        session,
        viewer.tenant.organization_id,
        viewer.actor,
        "organization.billing_details_changed",
        viewer.tenant.organization_id,
        billing_contact_email=body.billing_contact_email,
    )
    session.commit()
    return redirect(target, "saved")
