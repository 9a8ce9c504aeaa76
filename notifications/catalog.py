"""Every email gigcover sends, with the facts each one needs. Amounts are integer cents, times unix seconds.

The kinds are the notifications of 1099Policy's payments guide (seed 001), plus the application link.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict


class EmailKind(StrEnum):
    APPLICATION_LINK = "application_link"
    APPLICATION_REMINDER = "application_reminder"
    APPLICATION_REVIEW_APPROVED = "application_review_approved"
    APPLICATION_REVIEW_DECLINED = "application_review_declined"
    PAYMENT_REMINDER = "payment_reminder"
    PAYMENT_CONFIRMATION = "payment_confirmation"
    PREMIUM_INCREASE_CONTRACTOR = "premium_increase_contractor"
    PREMIUM_INCREASE_ORGANIZATION = "premium_increase_organization"
    PREMIUM_DECREASE_CONTRACTOR = "premium_decrease_contractor"
    PREMIUM_DECREASE_ORGANIZATION = "premium_decrease_organization"
    ASSIGNMENT_CHARGE_REMINDER = "assignment_charge_reminder"
    ASSIGNMENT_CHARGE_FAILURE = "assignment_charge_failure"
    ASSIGNMENT_PAYMENT_AUTHENTICATION = "assignment_payment_authentication"
    BILL_OVERDUE = "bill_overdue"
    COVERAGE_EXTENDED = "coverage_extended"
    MEMBER_INVITATION = "member_invitation"
    PASSWORD_RESET = "password_reset"
    PORTAL_SIGN_IN = "portal_sign_in"
    CERTIFICATE_REQUEST = "certificate_request"
    CERTIFICATE_RENEWAL = "certificate_renewal"


class Audience(StrEnum):
    """Who an email is written to: it picks the footer (who sent it, why they got it) and, for staff,
    where the email is filed."""

    CONTRACTOR = "contractor"  # covered, or applying for coverage, through the organization
    ORGANIZATION = "organization"  # the organization's billing contact: bills and premiums it remits
    STAFF = "staff"  # a member of the organization's dashboard, or someone invited to it


WITHHELD = "(link sent to the recipient only)"


class CapabilityLink:
    """Marks a context field whose value is a capability link (whoever holds it gets in: an application,
    a card page, a file, a dashboard invitation or reset). The recipient's message carries it; the stored
    copy of the email shows ``WITHHELD`` instead (outbox/records.py)."""


Link = Annotated[str, CapabilityLink()]


class EmailContext(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    organization_name: str

    @classmethod
    def capability_fields(cls) -> tuple[str, ...]:
        return tuple(
            name
            for name, field in cls.model_fields.items()
            if any(isinstance(marker, CapabilityLink) for marker in field.metadata)
        )

    def withheld(self) -> Self:
        """This context with every capability link replaced by ``WITHHELD``: what may be stored and shown."""
        return self.model_copy(update=dict.fromkeys(self.capability_fields(), WITHHELD))


class ApplicationLink(EmailContext):
    contractor_name: str
    url: Link
    job_name: str | None = None
    expires_at: int


class ApplicationReminder(EmailContext):
    """The contractor has not finished the application the organization offered them (domain/reminders.py):
    the same link as the application's own, to continue where they left off."""

    contractor_name: str
    url: Link  # /apply/<token>
    job_name: str | None = None
    opened_at: int
    expires_at: int


class ApplicationReviewApproved(EmailContext):
    contractor_name: str
    url: Link
    job_name: str | None = None
    expires_at: int


class ApplicationReviewDeclined(EmailContext):
    contractor_name: str
    reason: str
    job_name: str | None = None


class MoneyEmail(EmailContext):
    """An email to a contractor about their money (a charge, a failed charge, a receipt, a refund): it links
    to the contractor portal, where they see what they paid and change their card (the only place to)."""

    portal_url: str  # /my: not a capability (it asks them to sign in)


class PaymentReminder(MoneyEmail):
    contractor_name: str
    amount: int
    payment_date: int
    payment_method: str
    job_name: str | None = None


class PaymentConfirmation(MoneyEmail):
    contractor_name: str
    amount: int
    reference_number: str
    payment_method: str
    paid_at: int
    job_name: str | None = None


class PremiumChangeForContractor(MoneyEmail):
    contractor_name: str
    job_name: str
    previous_amount: int
    new_amount: int
    payment_method: str

    @property
    def difference(self) -> int:
        return abs(self.new_amount - self.previous_amount)


class PremiumChangeForOrganization(EmailContext):
    representative_name: str
    contractor_name: str
    job_name: str
    previous_amount: int
    new_amount: int
    paid_by: str  # "the contractor's card" or "your organization (remit)"

    @property
    def difference(self) -> int:
        return abs(self.new_amount - self.previous_amount)


class AssignmentChargeReminder(MoneyEmail):
    contractor_name: str
    job_name: str
    amount: int
    charge_at: int
    payment_method: str


class AssignmentChargeFailure(MoneyEmail):
    contractor_name: str
    job_name: str
    amount: int
    reason: str
    coverage_active: bool = False  # an increase after the premium was paid: the coverage stays in force


class AssignmentPaymentAuthentication(MoneyEmail):
    """The bank asks the contractor to confirm an off-session charge (3-D Secure)."""

    contractor_name: str
    job_name: str
    amount: int
    card_url: Link  # /cards/<token>: confirm the payment there (another card: in the portal)
    coverage_active: bool = False  # an increase after the premium was paid: the coverage stays in force


class BillOverdue(EmailContext):
    representative_name: str
    bill_number: str
    amount_due: int
    due_date: int
    purchase_order_number: str | None = None
    pdf_url: Link
    # what the bill is for (its lines' words) and its page in the dashboard (sign-in needed: no capability)
    lines: list[str] = []
    bill_url: str = ""


class MemberInvitation(EmailContext):
    invited_by: str
    role: str
    url: Link
    expires_at: int


class PasswordReset(EmailContext):
    url: Link
    expires_at: int


class PortalSignIn(EmailContext):
    """A one-time link that signs the contractor in to their portal (``/my/link/<token>``)."""

    url: Link
    expires_at: int


class CoverageExtended(EmailContext):
    contractor_name: str
    job_name: str
    previous_end_date: int
    end_date: int


class CertificateRequest(EmailContext):
    """The platform asks the contractor for their certificate of insurance."""

    contractor_name: str
    url: Link  # /certificates/<token>
    expires_at: int


class CertificateRenewal(EmailContext):
    """The contractor's certificate on file ends soon: upload the renewed one."""

    contractor_name: str
    url: Link  # /certificates/<token>
    coverage_ends: int
    days_left: int
    expires_at: int


@dataclass(frozen=True)
class EmailDefinition:
    """What each kind of email is: the facts it needs, its subject (a template over them) and its audience.
    No field has a default: a new kind says who it is written to, and so which footer it carries."""

    context: type[EmailContext]
    subject: str
    audience: Audience
    reason: str | None = None  # why this recipient gets it (a template), when not the audience's REASONS

    @property
    def why(self) -> str:
        return self.reason or REASONS[self.audience]


# Why a recipient gets an email, ending its footer ("You receive this email because …").
REASONS = {
    Audience.CONTRACTOR: "you are covered, or applying for coverage, through {{ organization_name }}",
    Audience.ORGANIZATION: (
        "you are {{ organization_name }}'s billing contact for the insurance premiums it pays for its "
        "contractors"
    ),
    Audience.STAFF: "you are a member of {{ organization_name }}'s insurance dashboard",
}


CATALOG: dict[EmailKind, EmailDefinition] = {
    EmailKind.MEMBER_INVITATION: EmailDefinition(
        MemberInvitation,
        "{{ invited_by }} invited you to the {{ organization_name }} dashboard",
        Audience.STAFF,
        "{{ invited_by }} invited this address to join it",
    ),
    EmailKind.PASSWORD_RESET: EmailDefinition(
        PasswordReset,
        "Reset your {{ organization_name }} dashboard password",
        Audience.STAFF,
        "someone asked, on its sign-in page, to reset the password of the account with this address",
    ),
    EmailKind.PORTAL_SIGN_IN: EmailDefinition(
        PortalSignIn,
        "Your sign-in link for your insurance portal",
        Audience.CONTRACTOR,
        "someone asked, on the insurance portal's sign-in page, for a sign-in link for this address",
    ),
    EmailKind.APPLICATION_LINK: EmailDefinition(
        ApplicationLink,
        "Your insurance application for {{ organization_name }}",
        Audience.CONTRACTOR,
    ),
    EmailKind.APPLICATION_REMINDER: EmailDefinition(
        ApplicationReminder,
        "Reminder: finish your insurance application for {{ organization_name }}",
        Audience.CONTRACTOR,
    ),
    EmailKind.APPLICATION_REVIEW_APPROVED: EmailDefinition(
        ApplicationReviewApproved,
        "You can continue your insurance application for {{ organization_name }}",
        Audience.CONTRACTOR,
    ),
    EmailKind.APPLICATION_REVIEW_DECLINED: EmailDefinition(
        ApplicationReviewDeclined,
        "The underwriter's decision on your insurance application",
        Audience.CONTRACTOR,
    ),
    EmailKind.PAYMENT_REMINDER: EmailDefinition(
        PaymentReminder,
        "Upcoming insurance payment of {{ amount|money }}",
        Audience.CONTRACTOR,
    ),
    EmailKind.PAYMENT_CONFIRMATION: EmailDefinition(
        PaymentConfirmation,
        "Payment received: {{ amount|money }}",
        Audience.CONTRACTOR,
    ),
    EmailKind.PREMIUM_INCREASE_CONTRACTOR: EmailDefinition(
        PremiumChangeForContractor,
        "Your premium for {{ job_name }} went up by {{ difference|money }}",
        Audience.CONTRACTOR,
    ),
    EmailKind.PREMIUM_INCREASE_ORGANIZATION: EmailDefinition(
        PremiumChangeForOrganization,
        "Premium increase of {{ difference|money }} for {{ contractor_name }}",
        Audience.ORGANIZATION,
    ),
    EmailKind.PREMIUM_DECREASE_CONTRACTOR: EmailDefinition(
        PremiumChangeForContractor,
        "Your premium for {{ job_name }} went down by {{ difference|money }}",
        Audience.CONTRACTOR,
    ),
    EmailKind.PREMIUM_DECREASE_ORGANIZATION: EmailDefinition(
        PremiumChangeForOrganization,
        "Premium decrease of {{ difference|money }} for {{ contractor_name }}",
        Audience.ORGANIZATION,
    ),
    EmailKind.ASSIGNMENT_CHARGE_REMINDER: EmailDefinition(
        AssignmentChargeReminder,
        "We will charge {{ amount|money }} for {{ job_name }} on {{ charge_at|date }}",
        Audience.CONTRACTOR,
    ),
    EmailKind.ASSIGNMENT_CHARGE_FAILURE: EmailDefinition(
        AssignmentChargeFailure,
        "Action needed: your payment of {{ amount|money }} for {{ job_name }} failed",
        Audience.CONTRACTOR,
    ),
    EmailKind.ASSIGNMENT_PAYMENT_AUTHENTICATION: EmailDefinition(
        AssignmentPaymentAuthentication,
        "Action needed: confirm your payment of {{ amount|money }} for {{ job_name }} with your bank",
        Audience.CONTRACTOR,
    ),
    EmailKind.COVERAGE_EXTENDED: EmailDefinition(
        CoverageExtended,
        "Your coverage for {{ job_name }} now runs until {{ end_date|date }}",
        Audience.CONTRACTOR,
    ),
    EmailKind.CERTIFICATE_REQUEST: EmailDefinition(
        CertificateRequest,
        "{{ organization_name }} asks for your certificate of insurance",
        Audience.CONTRACTOR,
    ),
    EmailKind.CERTIFICATE_RENEWAL: EmailDefinition(
        CertificateRenewal,
        "Your certificate of insurance ends in {{ days_left }} days: send the renewed one",
        Audience.CONTRACTOR,
    ),
    EmailKind.BILL_OVERDUE: EmailDefinition(
        BillOverdue,
        "Overdue: insurance premium bill {{ bill_number }} of {{ amount_due|money }}",
        Audience.ORGANIZATION,
    ),
}

# Emails to the dashboard's members: staff mail, filed apart from every tenant's (see outbox/records.py).
STAFF_KINDS = frozenset(kind for kind, definition in CATALOG.items() if definition.audience is Audience.STAFF)
