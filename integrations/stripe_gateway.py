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
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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


class StripeRefused(Exception):
    """Stripe answered a 4xx other than a decline or a rate limit (no such PaymentMethod, a detached card, a
    bad key): asking again gets the same answer, so it is final. ``message`` is Stripe's (for logs), not
    for the contractor."""

    def __init__(self, message: str, status: int | None, code: str | None) -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


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
        base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self._stripe = stripe.StripeClient(keys.secret, base_addresses=base, max_network_retries=2)  # type: ignore[arg-type]
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
        intent = self._stripe.v1.setup_intents.create(
            params={
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
    ) -> str:
        """Hold ``amount`` on the card (manual capture): the PaymentIntent id, or CardDeclined."""
        intent = self._stripe.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": "usd",
                "customer": customer_id,
                "payment_method": payment_method_id,
                "capture_method": "manual",
                "payment_method_types": ["card"],
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
        try:
            intent = self._stripe.v1.payment_intents.confirm(intent.id)
        except stripe.CardError as error:
            self.cancel(intent.id)
            raise CardDeclined.from_stripe(error) from None
        if intent.status != "requires_capture":
            self.cancel(intent.id)
            raise CardDeclined(
                "Your bank asked for extra verification this page cannot do; try another card.", intent.status
            )
        return intent.id

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
        if intent.status in (
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
            "requires_capture",
        ):
            self._stripe.v1.payment_intents.cancel(payment_intent_id)

    @stripe_errors_classified()
    def charge_saved_card(
        self,
        customer_id: str,
        payment_method_id: str,
        amount: int,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> str:
        """Charge a saved card while the contractor is away (off-session). Returns the PaymentIntent id."""
        try:
            intent = self._stripe.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": "usd",
                    "customer": customer_id,
                    "payment_method": payment_method_id,
                    "off_session": True,
                    "confirm": True,
                    "payment_method_types": ["card"],
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as error:
            raise CardDeclined.from_stripe(error) from None
        if intent.status != "succeeded":
            self.cancel(intent.id)
            raise CardDeclined(
                "Your bank asked to authenticate this payment; add another card.", intent.status
            )
        return intent.id

    @stripe_errors_classified()
    def refund(
        self, payment_intent_id: str, amount: int, metadata: dict[str, str], idempotency_key: str
    ) -> str:
        """Refund part of a payment. The caller guarantees it never exceeds what is left of the payment
        (localstripe does not check)."""
        refund = self._stripe.v1.refunds.create(
            params={"payment_intent": payment_intent_id, "amount": amount, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
        return refund.id

    @stripe_errors_classified()
    def status(self, payment_intent_id: str) -> str:
        return self._stripe.v1.payment_intents.retrieve(payment_intent_id).status


def _decline_code(error: stripe.CardError) -> str | None:
    body = error.json_body or {}
    return (body.get("error") or {}).get("decline_code") or getattr(error, "code", None)
