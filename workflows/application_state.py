"""What the ApplicationWorkflow knows of its application while it runs, in one object. Nothing here is
serialized: the workflow never continues as new, and its queries answer with ``ApplicationState``."""

from dataclasses import dataclass
from datetime import datetime

from contracts.application import ContractorDetails
from domain.application import ENDED, Status, Step


@dataclass
class HeldPremium:
    """The premium held (pre-authorized) on the contractor's card, captured when the application completes."""

    placed_at: datetime  # when the current hold was placed (its renewal is planned from it)
    payment_intent: str | None = None  # None: no hold (no card yet, or it was released)
    card_summary: str | None = None
    revision: int = 0  # bumped whenever a hold is placed: the run plans the new hold's renewal
    attempts: int = 0  # each attempt its own idempotency key: a new card is a different request
    renewal_failed: bool = False  # the current hold could not be renewed: no further tries
    captures_refused: int = 0  # bumped when Stripe refuses to capture the hold
    to_authenticate: str | None = None  # a hold (PaymentIntent) the contractor's bank asks them to confirm
    to_authenticate_card: str | None = None  # and the card (PaymentMethod) it is on


@dataclass
class SessionState:
    """The application session as the workflow holds it: its step and status, how it ended, what it bound,
    and what the hosted pages asked the run to do (``complete``, ``expire``)."""

    hold: HeldPremium
    step: Step = Step.VERIFY_INFO
    status: Status = Status.CREATED
    ended_reason: str | None = None
    policy_id: str | None = None
    finish_requested: bool = False
    expire_requested: bool = False
    signer: ContractorDetails | None = None  # whose name the signature must be (the saved details)

    @property
    def ended(self) -> bool:
        return self.status in ENDED
