"""Inputs, update payloads and results of the ApplicationWorkflow and its activities."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.calls import QueryName, UpdateName
from domain.application import Status, Step

APPLICATION_WORKFLOW = "ApplicationWorkflow"


def application_workflow_id(session_id: str) -> str:
    return f"application-{session_id}"


class ApplicationInput(BaseModel):
    session_id: str
    organization_id: str
    environment: str
    contractor_id: str
    quote_id: str | None
    is_general_opt_in: bool
    work_state: str
    premium: int
    withhold_premium: bool
    lifetime_seconds: int
    success_url: str
    cancel_url: str
    authorization_valid_seconds: int = 6 * 86_400


class ContractorDetails(BaseModel):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str = Field(min_length=7, max_length=40)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(None, max_length=200)
    locality: str = Field(min_length=1, max_length=100)
    region: str = Field(min_length=2, max_length=2)
    postalcode: str = Field(min_length=3, max_length=12)


class Answers(BaseModel):
    hires_workers: bool
    claims_last_three_years: int = Field(ge=0, le=50)
    licensed_if_required: bool
    years_experience: int = Field(ge=0, le=80)


class SignatureInput(BaseModel):
    typed_name: str = Field(min_length=2, max_length=200)
    consent: bool
    ip_address: str = Field(max_length=64)


class CardInput(BaseModel):
    payment_method_id: str = Field(min_length=3, max_length=100)


class ReviewDecision(BaseModel):
    """An underwriter's decision on an application under manual review (``reason``: shown on a decline)."""

    approve: bool
    reason: str | None = Field(None, max_length=500)


class StepResult(BaseModel):
    step: Step
    status: Status
    redirect_url: str | None = None
    message: str | None = None


class ApplicationState(BaseModel):
    session_id: str
    step: Step
    status: Status
    card_summary: str | None = None
    premium: int
    withhold_premium: bool
    policy_id: str | None = None
    expires_at: int
    ended_reason: str | None = None
    hold_to_authenticate: str | None = None  # a hold (PaymentIntent) waiting for the bank


# Activity payloads


class Progress(BaseModel):
    session_id: str
    step: Step
    status: Status
    ended_reason: str | None = None


class SavedDetails(BaseModel):
    session_id: str
    details: ContractorDetails


class SavedAnswers(BaseModel):
    session_id: str
    answers: Answers


class SavedSignature(BaseModel):
    session_id: str
    typed_name: str
    ip_address: str
    signed_at: int


class CardAuthorization(BaseModel):
    session_id: str
    payment_method_id: str
    amount: int
    idempotency_key: str
    wait_for_authentication: bool = False  # the contractor is on the page: a hold their bank asks about waits


# An ``authorize_card`` refusal with this type (its details: the waiting PaymentIntent) is not a decline: the
# contractor's bank asks them to authenticate the hold, which waits for them on the card step.
HOLD_WAITS_FOR_THE_BANK = "HoldNeedsAuthentication"


class HoldConfirmation(BaseModel):
    """The contractor confirmed with their bank the hold it asked about: is it held now?"""

    session_id: str
    payment_intent_id: str
    payment_method_id: str  # the card it is on: on file once the hold is confirmed
    amount: int


class CardHold(BaseModel):
    payment_intent_id: str
    card_summary: str


class Capture(BaseModel):
    session_id: str
    payment_intent_id: str
    idempotency_key: str


class Completion(BaseModel):
    session_id: str
    policy_id: str | None = None
    bill_id: str | None = None


class Snapshots(BaseModel):
    """Resource snapshots for the events completion publishes."""

    session: dict[str, Any]
    policy: dict[str, Any] | None = None
    assignment: dict[str, Any] | None = None


ReviewEmail = Literal["approved", "declined"]


class ReviewRecord(BaseModel):
    """A step of the manual review, stored in one transaction: the session's status and step, its event
    (``data``: the session, with ``reason``) and, for a decision, the email telling the contractor."""

    session_id: str
    step: Step
    status: Status
    event_type: str
    event_id: str
    reason: str | None = None
    email: ReviewEmail | None = None


# The Updates the hosted pages (one per step), the dashboard and the CreatorIQ sync send, and the Query.
VERIFY_INFO = UpdateName[ContractorDetails, StepResult]("verify_info", StepResult)
ANSWER_QUESTIONS = UpdateName[Answers, StepResult]("answer_questions", StepResult)
SIGN = UpdateName[SignatureInput, StepResult]("sign", StepResult)
ADD_CARD = UpdateName[CardInput, StepResult]("add_card", StepResult)
HOLD_AUTHENTICATED = UpdateName[str, StepResult]("hold_authenticated", StepResult)
COMPLETE = UpdateName[None, StepResult]("complete", StepResult)
REVIEW = UpdateName[ReviewDecision, StepResult]("review", StepResult)
EXPIRE = UpdateName[None, StepResult]("expire", StepResult)
APPLICATION_STATE = QueryName[ApplicationState]("state", ApplicationState)
