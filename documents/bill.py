"""Premium bills for organizations that remit on their contractors' behalf, due in 30 days."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from documents.certificate import ISSUER, Party
from documents.pdf import FAMILY, DocumentPdf
from notifications.render import money

PAYMENT_TERMS_DAYS = 30


@dataclass(frozen=True)
class LineItem:
    description: str
    amount: int
    # what the line is for (kept with the bill and in the API's line_items; the description says it too)
    job: str | None = None
    coverage_type: tuple[str, ...] = field(default=())
    period_start: int | None = None
    period_end: int | None = None

    def stored(self) -> dict[str, Any]:
        line: dict[str, Any] = {"description": self.description, "amount": self.amount}
        if self.job or self.coverage_type or self.period_start is not None:
            line |= {
                "job": self.job,
                "coverage_type": list(self.coverage_type),
                "period_start": self.period_start,
                "period_end": self.period_end,
            }
        return line


@dataclass(frozen=True)
class PremiumBill:
    bill_number: str
    bill_to: Party
    bill_date: int
    due_date: int
    line_items: tuple[LineItem, ...]
    purchase_order_number: str | None
    po_contact_name: str | None
    po_contact_email: str | None
    sandbox: bool

    @property
    def amount_due(self) -> int:
        return sum(item.amount for item in self.line_items)


def due_date_for(bill_date: int) -> int:
    return bill_date + PAYMENT_TERMS_DAYS * 86_400


def _day(ts: int) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%B} {moment.day}, {moment.year}"


def render_bill(bill: PremiumBill) -> bytes:
    pdf = DocumentPdf("Insurance Premium Bill", "SANDBOX · SPECIMEN" if bill.sandbox else None)
    pdf.add_page()
    po_rows = [("Purchase order", bill.purchase_order_number)] if bill.purchase_order_number else []
    if bill.po_contact_name or bill.po_contact_email:
        email = f"<{bill.po_contact_email}>" if bill.po_contact_email else None
        contact = " ".join(part for part in (bill.po_contact_name, email) if part)
        po_rows.append(("PO contact", contact))
    pdf.fields(
        [
            ("Bill number", bill.bill_number),
            ("Bill date", _day(bill.bill_date)),
            ("Due date", _day(bill.due_date)),
            *po_rows,
            ("From", ISSUER),
        ]
    )
    pdf.section("Bill to")
    pdf.fields([("Name", bill.bill_to.name), *[("", line) for line in bill.bill_to.address_lines]])
    pdf.section("Line items")
    pdf.set_font(FAMILY, "", 10)
    for item in bill.line_items:
        pdf.cell(pdf.epw - 110, 16, item.description)
        pdf.cell(110, 16, money(item.amount), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.rule()
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(pdf.epw - 110, 18, "Amount due")
    pdf.cell(110, 18, money(bill.amount_due), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    pdf.paragraph(
        f"Payment is due within {PAYMENT_TERMS_DAYS} days of the bill date. Please include the bill number "
        "(and your purchase order number, if any) with your payment."
    )
    return pdf.to_bytes()
