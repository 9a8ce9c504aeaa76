"""3-D Secure in the local Stripe stand-in, as Stripe's test cards behave.

localstripe asks for authentication on every confirmation of a 3-D Secure test card and cannot tell a
payment made with the customer present (on-session) from one made while they are away (``off_session``).
Stripe's cards:

- ``4000002500003155`` asks for authentication when it is set up (a SetupIntent) and on every on-session
  payment; once set up, off-session payments go through without it.
- ``4000002760003184`` asks for authentication on every payment, off-session included: there Stripe cannot
  ask, so the payment fails with a 402 ``authentication_required`` and the PaymentIntent waits in
  ``requires_payment_method`` for the customer to come back and confirm it on-session (with the same card).

Stripe.js's challenge answers here with the calls localstripe's script makes: completing it confirms the
intent again (SetupIntent) or calls ``_authenticate?success=true`` (PaymentIntent); failing it leaves the
intent in ``requires_payment_method`` with Stripe's ``*_authentication_failure`` error, naming the card as
Stripe's does, so the same intent can be confirmed again with it (localstripe cancels a SetupIntent whose
challenge failed and forgets a PaymentIntent's card: Stripe does neither).
"""

import contextlib
import contextvars
from typing import Any

from localstripe import resources
from localstripe.errors import UserError

SET_UP_THEN_FREE = "4000002500003155"  # authenticated once when set up; off-session payments then pass
ALWAYS = "4000002760003184"  # every payment asks, off-session ones fail with authentication_required
OFF_SESSION: contextvars.ContextVar[bool] = contextvars.ContextVar("off_session", default=False)
AUTHENTICATION_REQUIRED = "Your card was declined. This transaction requires authentication."
SETUP_FAILED = (
    "We are unable to authenticate your payment method. Please choose a different payment method and try "
    "again."
)


def _card_number(pm: resources.PaymentMethod) -> str | None:
    return getattr(pm, "_card_number", None)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _off_session_passes(pm: resources.PaymentMethod) -> bool:
    """Whether an off-session payment with this card needs no authentication."""
    if not pm._requires_authentication():
        return True
    return _card_number(pm) == SET_UP_THEN_FREE and getattr(pm, "_set_up", False)


def _authentication_required(intent: resources.PaymentIntent, pm: resources.PaymentMethod) -> UserError:
    """Stripe's answer to an off-session payment the bank wants authenticated: the intent waits for its
    customer (``requires_payment_method``), the error names it."""
    intent.payment_method = None
    intent.next_action = None
    intent._last_error = {
        "type": "card_error",
        "code": "authentication_required",
        "decline_code": "authentication_required",
        "message": AUTHENTICATION_REQUIRED,
        "payment_method": {"id": pm.id, "object": "payment_method"},
    }
    error = UserError(
        402,
        AUTHENTICATION_REQUIRED,
        {
            "code": "authentication_required",
            "decline_code": "authentication_required",
            "payment_intent": {"id": intent.id, "object": "payment_intent", "status": intent.status},
        },
    )
    error.body["error"]["type"] = "card_error"
    return error


def _teach_payment_intents() -> None:
    create, confirm = resources.PaymentIntent._api_create, resources.PaymentIntent._confirm
    authenticate = resources.PaymentIntent._api_authenticate
    last_error = resources.PaymentIntent.last_payment_error

    def create_in_session(cls: type, confirm: Any = None, off_session: Any = None, **data: Any) -> Any:
        token = OFF_SESSION.set(_truthy(off_session))
        try:
            return create.__func__(cls, confirm=confirm, off_session=off_session, **data)
        finally:
            OFF_SESSION.reset(token)

    def confirm_in_session(self: resources.PaymentIntent, on_failure_now: Any) -> None:
        self._last_error = None
        pm = resources.PaymentMethod._api_retrieve(self.payment_method)
        if not OFF_SESSION.get() or not pm._requires_authentication():
            confirm(self, on_failure_now)  # on-session: localstripe asks for authentication (next_action)
        elif _off_session_passes(pm):
            self._authentication_failed = False
            self._create_charge(on_failure_now=on_failure_now)
        else:
            raise _authentication_required(self, pm)

    def api_confirm(
        cls: type,
        id: str,
        payment_method: Any = None,
        off_session: Any = None,
        client_secret: Any = None,
        use_stripe_sdk: Any = None,
        return_url: Any = None,
        **kwargs: Any,
    ) -> resources.PaymentIntent:
        """Stripe's confirm: with ``payment_method`` (an intent waiting for one, after a failed off-session
        payment) and ``off_session``."""
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        if not isinstance(id, str) or not id.startswith("pi_"):
            raise UserError(400, "Bad request")
        obj = resources.PaymentIntent._api_retrieve(id)
        if client_secret is not None and client_secret != obj.client_secret:
            raise UserError(401, "Unauthorized")
        if payment_method is not None:
            pm = resources.PaymentMethod._api_retrieve(payment_method)
            if obj.status not in ("requires_payment_method", "requires_confirmation"):
                raise UserError(400, f"This PaymentIntent's status is {obj.status}: it cannot be confirmed.")
            if obj.customer and pm.customer not in (None, obj.customer):
                raise UserError(400, "The PaymentMethod belongs to another customer.")
            obj.payment_method, obj._authentication_failed = pm.id, False
        if obj.status != "requires_confirmation":
            raise UserError(400, f"This PaymentIntent's status is {obj.status}: it cannot be confirmed.")
        token = OFF_SESSION.set(_truthy(off_session))
        try:
            obj._confirm(on_failure_now=obj._report_failure)
        finally:
            OFF_SESSION.reset(token)
        return obj

    def authenticate_keeping_the_card(
        cls: type, id: str, client_secret: Any = None, success: Any = False, **kwargs: Any
    ) -> resources.PaymentIntent:
        """localstripe forgets the card of a failed challenge; Stripe names it in ``last_payment_error``."""
        tried = None
        if isinstance(id, str) and id.startswith("pi_"):
            with contextlib.suppress(UserError):
                tried = resources.PaymentIntent._api_retrieve(id).payment_method
        obj = authenticate.__func__(cls, id, client_secret=client_secret, success=success, **kwargs)
        if tried:
            obj._tried_payment_method = tried
        return obj

    def last_payment_error(self: resources.PaymentIntent) -> dict[str, Any] | None:
        error = getattr(self, "_last_error", None) or last_error.fget(self)
        tried = getattr(self, "_tried_payment_method", None)
        if (
            error
            and tried
            and getattr(self, "_authentication_failed", False)
            and "payment_method" not in error
        ):
            error = {**error, "payment_method": {"id": tried, "object": "payment_method"}}
        return error

    resources.PaymentIntent._api_create = classmethod(create_in_session)
    resources.PaymentIntent._confirm = confirm_in_session
    resources.PaymentIntent._api_confirm = classmethod(api_confirm)
    resources.PaymentIntent.last_payment_error = property(last_payment_error)
    resources.PaymentIntent._api_authenticate = classmethod(authenticate_keeping_the_card)
    _reroute("POST", "/v1/payment_intents/{id}/confirm", resources.PaymentIntent._api_confirm)
    _reroute("POST", "/v1/payment_intents/{id}/_authenticate", resources.PaymentIntent._api_authenticate)


def _teach_setup_intents() -> None:
    confirm, cancel = resources.SetupIntent._api_confirm, resources.SetupIntent._api_cancel

    def confirm_and_set_up(cls: type, id: str, **kwargs: Any) -> resources.SetupIntent:
        obj = confirm.__func__(cls, id, **kwargs)
        if obj.status == "succeeded" and obj.payment_method:
            pm = resources.PaymentMethod._api_retrieve(obj.payment_method)
            pm._set_up = True  # authenticated for later off-session payments
            obj.last_setup_error = None
        return obj

    def cancel_or_fail(
        cls: type, id: str, use_stripe_sdk: Any = None, client_secret: Any = None, **kwargs: Any
    ) -> resources.SetupIntent:
        """Stripe.js's failed challenge (localstripe's script cancels the intent): the intent waits for a
        card again, with Stripe's error, as at Stripe. A cancel from a server cancels."""
        obj = resources.SetupIntent._api_retrieve(id) if isinstance(id, str) else None
        if obj is not None and use_stripe_sdk is not None and obj.status == "requires_action":
            if client_secret != obj.client_secret:
                raise UserError(401, "Unauthorized")
            obj.status, obj.next_action, obj.payment_method = "requires_payment_method", None, None
            obj.last_setup_error = {
                "type": "invalid_request_error",
                "code": "setup_intent_authentication_failure",
                "message": SETUP_FAILED,
            }
            return obj
        return cancel.__func__(cls, id, use_stripe_sdk=use_stripe_sdk, client_secret=client_secret, **kwargs)

    resources.SetupIntent._api_confirm = classmethod(confirm_and_set_up)
    resources.SetupIntent._api_cancel = classmethod(cancel_or_fail)
    _reroute("POST", "/v1/setup_intents/{id}/confirm", resources.SetupIntent._api_confirm)
    _reroute("POST", "/v1/setup_intents/{id}/cancel", resources.SetupIntent._api_cancel)


def _reroute(method: str, path: str, handler: Any) -> None:
    """localstripe registered its routes from ``extra_apis`` at import: point this one at ``handler``."""
    from localstripe import server

    for route in server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        if route.method == method and info.get("formatter") == path:
            route._handler = server.api_extra(handler, path)
            return
    raise RuntimeError(f"localstripe has no route {method} {path}")


def teach_authentication() -> None:
    _teach_payment_intents()
    _teach_setup_intents()
