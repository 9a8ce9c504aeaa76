"""Every Stripe call gigcover makes, through the official SDK.

Real Stripe in production; the same code against localstripe locally (``GIGCOVER_STRIPE_API_BASE``). Only
parameters both accept are sent: reasons and descriptions go into ``metadata``.

Each environment has its own keys (``GIGCOVER_STRIPE_SANDBOX_*`` test-mode, ``GIGCOVER_STRIPE_PRODUCTION_*``
live-mode): a gateway acts for one environment, and ``for_environment`` gives the one of another, so a
sandbox application's customer, card, hold, capture and refunds are all test-mode objects, and a production
one's all live-mode objects (Stripe keeps the two apart: one mode cannot see the other's objects).

Every call answers with its result or one of three errors: CardDeclined (the card was refused: a message for
the contractor), StripeRefused (another 4xx: final, asking again gets the same answer) and StripeUnavailable
(a 5xx, 429, timeout or lost connection: worth asking again later).

Every call is bounded: each request gets ``stripe_timeout_seconds`` and ``stripe_network_retries`` retries
(the same idempotency key), and within ``deadline(...)`` (an activity's attempt) no request outlives it, so
an attempt cut short never leaves a request behind that a retry could race. A call that moves money carries
its idempotency key in the object's metadata too, so a caller that lost an answer can ask the processor what
that key made (``look_first``) instead of trusting Stripe's 24-hour idempotency alone.
"""

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Unpack

import stripe

from common.settings import Settings, stripe_keys


class CardDeclined(Exception):
    """The card was refused; ``message`` is safe to show the contractor."""

    def __init__(self, message: str, decline_code: str | None) -> None:
        super().__init__(message)
        self.message, self.decline_code = message, decline_code

    @classmethod
    def from_stripe(cls, error: stripe.CardError) -> "CardDeclined":
        return cls(error.user_message or "Your card was declined.", _decline_code(error))


class AuthenticationRequired(CardDeclined):
    """The bank asks the cardholder to authenticate this payment (3-D Secure) and they are not here: the
    PaymentIntent waits for them (``payment_intent_id``) to confirm it on-session, with the same card. Not a
    refusal of the card: a caller that cannot ask them treats it as a decline."""

    def __init__(self, message: str, payment_intent_id: str) -> None:
        super().__init__(message, AUTHENTICATION_REQUIRED)
        self.payment_intent_id = payment_intent_id


AUTHENTICATION_REQUIRED = "authentication_required"
ASK_TO_AUTHENTICATE = "Your bank asks you to confirm this payment."
# A PaymentIntent in one of these has moved no money yet (it waits for a card, a confirmation or the bank).
WAITING_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")


@dataclass(frozen=True)
class WaitingOutcome:
    """A waiting PaymentIntent as the processor has it now: its status, amount and our idempotency key."""

    status: str
    amount: int
    idempotency_key: str | None


class StripeRefused(Exception):
    """Stripe answered a 4xx other than a decline or a rate limit (no such PaymentMethod, a detached card, a
    bad key): asking again gets the same answer, so it is final. ``message`` is Stripe's (for logs), not
    for the contractor."""

    def __init__(self, message: str, status: int | None, code: str | None) -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


class RefundFailed(Exception):
    """The processor took the refund and then could not give the money back (its status ``failed`` or
    ``canceled``: the card was closed, say). Final for this refund: the money stays with us, owed back."""

    def __init__(self, refund_id: str, reason: str | None) -> None:
        super().__init__(f"refund {refund_id} failed: {reason or 'no reason given'}")
        self.refund_id, self.reason = refund_id, reason


class StripeUnavailable(Exception):
    """Stripe did not answer, answered 5xx or 429: asking again later may work (activities retry it)."""


@contextmanager
def stripe_errors_classified() -> Iterator[None]:
    """Stripe's 4xx answers (but 402 declines, which callers handle, and 429) become StripeRefused; a 5xx,
    429, timeout or connection error becomes StripeUnavailable, for the caller to retry."""
    try:
        yield
    except stripe.CardError:
        raise
    except stripe.StripeError as error:
        status = error.http_status
        if status is not None and 400 <= status < 500 and status != 429:
            raise StripeRefused(error.user_message or str(error), status, error.code) from None
        raise StripeUnavailable(str(error)) from None


KEY = "idempotency_key"  # the metadata field holding the key an object was made under
_DEADLINE: ContextVar[float | None] = ContextVar("stripe_deadline", default=None)  # time.monotonic()
TOO_LITTLE_LEFT = 0.5  # seconds: less than this left, a request is not sent at all


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within this block (and this thread), no request to the processor runs past ``seconds`` from now."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


class _BoundedRequests(stripe.RequestsClient):
    """requests, with each request's timeout cut to what is left of the caller's deadline."""

    @property
    def _timeout(self) -> float:
        end = _DEADLINE.get()
        left = self._per_request if end is None else end - time.monotonic()
        return max(min(self._per_request, left), 0.1)

    @_timeout.setter
    def _timeout(self, value: float) -> None:
        self._per_request = float(value)

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> Any:  # (body, status, headers); stripe types the body str in HTTPClient, bytes in RequestsClient
        end = _DEADLINE.get()
        if end is not None and end - time.monotonic() < TOO_LITTLE_LEFT:
            raise stripe.APIConnectionError("no time left in this step to wait for the processor")
        return super().request(method, url, headers, post_data)


class _How(TypedDict, total=False):
    """How a card PaymentIntent is made: held for a later capture, or charged off-session at once."""

    capture_method: Literal["manual"]
    off_session: bool
    confirm: bool


@dataclass(frozen=True)
class SavedCard:
    payment_method_id: str
    summary: str  # "Visa ending 4242"


def _captured_amount(intent: stripe.PaymentIntent) -> int:
    """Captured minus refunded; localstripe lacks ``amount_received``, and may return the charge expanded."""
    charge = intent.to_dict().get("latest_charge")
    if isinstance(charge, dict):
        return int(charge["amount"]) - int(charge.get("amount_refunded") or 0)
    return int(intent.to_dict().get("amount_received") or intent.amount)


class StripeGateway:
    def __init__(self, settings: Settings, environment: str = "sandbox") -> None:
        keys = stripe_keys(settings, environment)
        self._stripe = stripe.StripeClient(
            keys.secret,
            base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
            max_network_retries=settings.stripe_network_retries,
            http_client=_BoundedRequests(timeout=settings.stripe_timeout_seconds),
        )
        self._settings, self.environment, self.publishable_key = settings, environment, keys.publishable
        self._by_environment: dict[str, StripeGateway] = {environment: self}

    def for_environment(self, environment: str) -> "StripeGateway":
        """The gateway with ``environment``'s keys (made once, then shared)."""
        if environment not in self._by_environment:
            other = StripeGateway(self._settings, environment)
            other._by_environment = self._by_environment
            self._by_environment[environment] = other
        return self._by_environment[environment]

    @stripe_errors_classified()
    def create_customer(self, email: str, name: str, metadata: dict[str, str], idempotency_key: str) -> str:
        customer = self._stripe.v1.customers.create(
            params={"email": email, "name": name, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
        return customer.id

    @stripe_errors_classified()
    def create_setup_intent(self, customer_id: str, metadata: dict[str, str]) -> str:
        """A client secret the hosted page hands to Stripe.js to save a card (our server never sees it)."""
        # payment_method_types: the pinned SDK names it allowed_payment_method_types, localstripe only this.
        intent = self._stripe.v1.setup_intents.create(
            params={  # type: ignore[arg-type]  # for payment_method_types (above)
                "customer": customer_id,
                "usage": "off_session",
                "payment_method_types": ["card"],
                "metadata": metadata,
            }
        )
        assert intent.client_secret
        return intent.client_secret

    @stripe_errors_classified()
    def save_card(self, customer_id: str, payment_method_id: str) -> SavedCard:
        method = self._stripe.v1.payment_methods.retrieve(payment_method_id)
        owner = method.customer if isinstance(method.customer, str | None) else method.customer.id
        if owner not in (None, customer_id):
            # Another customer's card (an id read elsewhere): never made this customer's default.
            raise StripeRefused("the payment method belongs to another customer", 400, "payment_method_owned")
        if method.customer is None:
            try:
                method = self._stripe.v1.payment_methods.attach(
                    payment_method_id, params={"customer": customer_id}
                )
            except stripe.CardError as error:
                raise CardDeclined.from_stripe(error) from None
        self._stripe.v1.customers.update(
            customer_id, params={"invoice_settings": {"default_payment_method": payment_method_id}}
        )
        card = method.card
        brand = (card.brand if card else "card").title()
        return SavedCard(payment_method_id, f"{brand} ending {card.last4 if card else '????'}")

    @stripe_errors_classified()
    def authorize(
        self,
        customer_id: str,
        payment_method_id: str,
        amount: int,
        metadata: dict[str, str],
        idempotency_key: str,
        look_first: bool = False,
        wait_for_authentication: bool = False,
    ) -> str:
        """Hold ``amount`` on the card (manual capture): the PaymentIntent id, or CardDeclined. With
        ``look_first`` (an earlier attempt may have made it), the intent made under the key is taken up.
        ``wait_for_authentication`` (the cardholder is on the page): a hold their bank asks them to
        authenticate is kept waiting for them (AuthenticationRequired, with its id) instead of released."""
        intent = self._intent_under(
            customer_id,
            payment_method_id,
            amount,
            metadata,
            idempotency_key,
            look_first,
            capture_method="manual",
        )
        if intent.status == "requires_confirmation":
            try:  # off-session: the card was saved (and authenticated, where the bank asked) by Stripe.js
                intent = self._stripe.v1.payment_intents.confirm(
                    intent.id,
                    params={"off_session": True},
                    options={"idempotency_key": f"{idempotency_key}:confirm"},
                )
            except stripe.CardError as error:
                if error.code == AUTHENTICATION_REQUIRED and wait_for_authentication:
                    raise AuthenticationRequired(HOLD_TO_AUTHENTICATE, intent.id) from None
                self.cancel(intent.id)
                if error.code == AUTHENTICATION_REQUIRED:
                    raise CardDeclined(HOLD_NEEDS_AUTHENTICATION, AUTHENTICATION_REQUIRED) from None
                raise CardDeclined.from_stripe(error) from None
        if intent.status == "requires_capture":
            return intent.id
        asked = intent.status == "requires_action" or _authentication_asked(intent)
        if asked and wait_for_authentication:
            raise AuthenticationRequired(HOLD_TO_AUTHENTICATE, intent.id)
        self.cancel(intent.id)
        if asked:
            raise CardDeclined(HOLD_NEEDS_AUTHENTICATION, AUTHENTICATION_REQUIRED)
        raise _declined(intent)

    @stripe_errors_classified()
    def held_after_authentication(self, payment_intent_id: str, customer_id: str, amount: int) -> bool:
        """Whether the hold the cardholder was asked to authenticate now holds ``amount`` on their card.
        StripeRefused for an intent that is not this customer's."""
        intent = self._stripe.v1.payment_intents.retrieve(payment_intent_id)
        if intent.customer != customer_id:
            raise StripeRefused("the payment belongs to another customer", None, "customer_mismatch")
        return intent.status == "requires_capture" and intent.amount == amount

    @stripe_errors_classified()
    def capture(self, payment_intent_id: str, idempotency_key: str) -> int:
        """Capture a held amount; safe to repeat (an already captured intent is left alone). Returns cents."""
        intent = self._stripe.v1.payment_intents.retrieve(payment_intent_id)
        if intent.status == "requires_capture":
            intent = self._stripe.v1.payment_intents.capture(
                payment_intent_id, options={"idempotency_key": idempotency_key}
            )
        if intent.status == "canceled":  # released, or lapsed: final
            raise StripeRefused(f"payment intent {payment_intent_id} is canceled", None, intent.status)
        if intent.status != "succeeded":
            raise RuntimeError(f"payment intent {payment_intent_id} is {intent.status}, not capturable")
        return _captured_amount(intent)

    @stripe_errors_classified()
    def cancel(self, payment_intent_id: str) -> None:
        """Release a hold; a no-op on one already canceled. Never cancels a captured payment."""
        intent = self._stripe.v1.payment_intents.retrieve(payment_intent_id)
        if intent.status in (*WAITING_STATUSES, "requires_capture"):  # a hold is released, never a payment
            self._stripe.v1.payment_intents.cancel(payment_intent_id)

    @stripe_errors_classified()
    def charge_saved_card(
        self,
        customer_id: str,
        payment_method_id: str,
        amount: int,
        metadata: dict[str, str],
        idempotency_key: str,
        look_first: bool = False,
    ) -> str:
        """Charge a saved card while the contractor is away (off-session). Returns the PaymentIntent id.
        With ``look_first`` (an earlier attempt may have charged), the charge made under the key counts:
        one the contractor authenticated since (``AuthenticationRequired``) is then the payment.
        AuthenticationRequired: the bank asks the contractor to confirm; the intent waits for them."""
        try:
            intent = self._intent_under(
                customer_id, payment_method_id, amount, metadata, idempotency_key, look_first,
                off_session=True, confirm=True,
            )  # fmt: skip
        except stripe.CardError as error:
            waiting = error.error.payment_intent if error.error else None
            waiting_id: str | None = waiting["id"] if waiting else None
            if error.code == AUTHENTICATION_REQUIRED and waiting_id:
                raise AuthenticationRequired(ASK_TO_AUTHENTICATE, waiting_id) from None
            raise CardDeclined.from_stripe(error) from None
        if intent.status == "succeeded":
            return intent.id
        if intent.status == "requires_action" or _authentication_asked(intent):
            raise AuthenticationRequired(ASK_TO_AUTHENTICATE, intent.id)  # not cancelled: it waits for them
        if intent.status in ("requires_payment_method", "canceled"):
            raise _declined(intent)
        raise RuntimeError(f"payment intent {intent.id} is {intent.status}; asking again later")

    @stripe_errors_classified()
    def refund(
        self,
        payment_intent_id: str,
        amount: int,
        metadata: dict[str, str],
        idempotency_key: str,
        look_first: bool = False,
    ) -> str:
        """Refund part of a payment. The caller guarantees it never exceeds what is left of the payment
        (localstripe does not check). With ``look_first``, a refund made under the key is the answer. Only a
        refund that ``succeeded`` is an answer: a ``failed`` or ``canceled`` one raises RefundFailed, and one
        still ``pending`` (or ``requires_action``) StripeUnavailable, so the caller asks again later (with
        ``look_first``, finding the same refund)."""
        made = None
        if look_first:
            refunds = self._stripe.v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 100})
            for refund in refunds.auto_paging_iter():
                if (refund.to_dict().get("metadata") or {}).get(KEY) == idempotency_key:
                    made = refund
                    break
        if made is None:
            made = self._stripe.v1.refunds.create(
                params={
                    "payment_intent": payment_intent_id,
                    "amount": amount,
                    "metadata": {**metadata, KEY: idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            )
        if made.status in ("failed", "canceled"):
            raise RefundFailed(made.id, made.to_dict().get("failure_reason") or made.status)
        if made.status != "succeeded":
            raise StripeUnavailable(f"refund {made.id} is {made.status}; asking again later")
        return made.id

    def _intent_under(
        self,
        customer_id: str,
        payment_method_id: str,
        amount: int,
        metadata: dict[str, str],
        idempotency_key: str,
        look_first: bool,
        **how: Unpack[_How],
    ) -> stripe.PaymentIntent:
        """The card PaymentIntent made under ``idempotency_key`` (looked up first when an earlier attempt may
        have made it), else a new one, carrying the key in its metadata; ``how``: capture or confirm."""
        intent = self._made_under(customer_id, idempotency_key) if look_first else None
        if intent is not None:
            return intent
        return self._stripe.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": "usd",
                "customer": customer_id,
                "payment_method": payment_method_id,
                **how,
                # The pinned SDK names it allowed_payment_method_types; localstripe knows only this name.
                "payment_method_types": ["card"],  # type: ignore[typeddict-unknown-key]
                "metadata": {**metadata, KEY: idempotency_key},
            },
            options={"idempotency_key": idempotency_key},
        )

    def _made_under(self, customer_id: str, idempotency_key: str) -> stripe.PaymentIntent | None:
        """The customer's PaymentIntent made under ``idempotency_key`` (listing is read-after-write consistent
        at Stripe; its search is not)."""
        intents = self._stripe.v1.payment_intents.list(params={"customer": customer_id, "limit": 100})
        for intent in intents.auto_paging_iter():
            if (intent.to_dict().get("metadata") or {}).get(KEY) == idempotency_key:
                return intent
        return None

    @stripe_errors_classified()
    def status(self, payment_intent_id: str) -> str:
        return self._stripe.v1.payment_intents.retrieve(payment_intent_id).status

    @stripe_errors_classified()
    def close_waiting(self, payment_intent_id: str, release: bool) -> WaitingOutcome:
        """A charge that waited for the cardholder's bank confirmation, by its own id (whichever card is on
        file now): what became of it. With ``release`` (it is superseded), one still waiting is cancelled
        first, and read again if it moved meanwhile (confirmed at that moment: then it is the payment)."""
        intent = self._stripe.v1.payment_intents.retrieve(payment_intent_id)
        if release and intent.status in WAITING_STATUSES:
            try:
                intent = self._stripe.v1.payment_intents.cancel(payment_intent_id)
            except stripe.InvalidRequestError:  # it moved meanwhile (the contractor confirmed it just now)
                intent = self._stripe.v1.payment_intents.retrieve(payment_intent_id)
        metadata = intent.to_dict().get("metadata") or {}
        return WaitingOutcome(intent.status, intent.amount, metadata.get(KEY))

    @stripe_errors_classified()
    def authentication_secret(self, payment_intent_id: str, customer_id: str | None = None) -> str | None:
        """For the cardholder back on the page: confirm the waiting PaymentIntent on-session with the card it
        was tried with, and answer its client secret for Stripe.js to run the bank's challenge (None: nothing
        is left to authenticate, it went through). StripeRefused for an intent that is over, or (with
        ``customer_id``) not this customer's."""
        intent = self._stripe.v1.payment_intents.retrieve(payment_intent_id)
        if customer_id is not None and intent.customer != customer_id:
            raise StripeRefused("the payment belongs to another customer", None, "customer_mismatch")
        tried = (intent.to_dict().get("last_payment_error") or {}).get("payment_method") or {}
        payment_method_id = tried.get("id") if isinstance(tried, dict) else None
        if payment_method_id is None and isinstance(intent.payment_method, str):
            payment_method_id = intent.payment_method
        if intent.status in ("succeeded", "requires_capture", "processing"):
            return None
        if intent.status == "requires_payment_method":
            if not payment_method_id:
                raise StripeRefused(
                    f"payment intent {payment_intent_id} has no card to confirm", None, "no_card"
                )
            try:
                intent = self._stripe.v1.payment_intents.confirm(
                    payment_intent_id, params={"payment_method": payment_method_id}
                )
            except stripe.CardError as error:
                raise CardDeclined.from_stripe(error) from None
        if intent.status in ("succeeded", "requires_capture"):
            return None
        if intent.status != "requires_action" or not intent.client_secret:
            raise StripeRefused(f"payment intent {payment_intent_id} is {intent.status}", None, intent.status)
        return intent.client_secret


HOLD_TO_AUTHENTICATE = "Your bank asks you to confirm this card before we hold your premium on it."
HOLD_NEEDS_AUTHENTICATION = (
    "Your bank asks you to confirm every payment with this card, which we cannot do for the premium we "
    "hold: please use another card."
)


def _authentication_asked(intent: stripe.PaymentIntent) -> bool:
    """Whether the intent waits because the bank asked for authentication (off-session), not a decline."""
    error = intent.to_dict().get("last_payment_error") or {}
    return intent.status == "requires_payment_method" and error.get("code") == AUTHENTICATION_REQUIRED


def _declined(intent: stripe.PaymentIntent) -> CardDeclined:
    """The decline an intent records (its last payment error), as the create or confirm answered it."""
    error = intent.to_dict().get("last_payment_error") or {}
    code = error.get("decline_code") or error.get("code")
    return CardDeclined(error.get("message") or "Your card was declined.", code)


def _decline_code(error: stripe.CardError) -> str | None:
    body = error.json_body if isinstance(error.json_body, dict) else {}
    return (body.get("error") or {}).get("decline_code") or getattr(error, "code", None)
