"""Run localstripe on loopback only, without its write-every-request pickle.

localstripe's own CLI binds every interface and pickles its whole store to /tmp on every write (latency
grows with each object). Here the store lives in memory while running and, when a ``--state-file`` is
given, is loaded at start and saved once at a clean stop, so a second ``make run`` finds the same data.

It also takes cards as Stripe does (any brand and length, American Express with its 4-digit CVC, Stripe's
messages and decline codes instead of "Bad request"), and its stand-in for Stripe.js gets a card form a
person can use: ``localstripe_elements.js`` beside this file, served after localstripe's own script.

And it keeps test mode and live mode apart as Stripe does: an object belongs to the mode of the key that made
it (``livemode``), and a key of the other mode neither sees it (404 "No such …") nor uses it, so the sandbox's
test keys and production's live keys can both run against it and a mix-up shows.

And a refund can fail as Stripe's test card 4000000000005126 makes it fail ("refund fails
asynchronously"): a refund of a charge made with that card is ``pending`` for ``REFUND_FAILS_AFTER`` seconds,
then ``failed`` with ``failure_reason`` ``expired_or_canceled_card``, and the charge's ``amount_refunded`` no
longer counts it. (Stripe shows such a refund ``succeeded`` first and tells of the failure later by the
``charge.refund.updated`` event; here it is ``pending`` until it fails, so a caller that reads the refund's
status, as gigcover does, meets the failure.)

And it honours ``Idempotency-Key`` as Stripe does (localstripe ignores it): the same key with the same
request answers the first answer again (``Idempotent-Replayed: true``), with another request a 400
``idempotency_error``, and while the first is still running a 409 ``idempotency_key_in_use``; keys are
kept 24 hours. PaymentIntents can be listed by ``customer``, as Stripe lists them, so a caller that lost an
answer can look for what it made.

And it knows 3-D Secure as Stripe's test cards do (``localstripe_3ds.py``): 4000002500003155 is
authenticated once when set up, 4000002760003184 on every payment, off-session ones failing with
``authentication_required``; Stripe.js's challenge is a dialog a person completes or fails.
"""

import argparse
import contextvars
import hashlib
import logging
import pickle
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

from devstack.localstripe_3ds import teach_authentication

# Cards that attach fine and are then declined when charged, with Stripe's decline code. 4546381219393284 is
# the seed's insufficient-funds card; localstripe itself knows neither it nor decline codes.
DECLINED_AT_CHARGE = {"4546381219393284": "insufficient_funds", "4000000000009995": "insufficient_funds"}
# Stripe's messages for its decline codes, and the test cards localstripe declines when they are attached
# (a SetupIntent confirmed by the card form), with the code Stripe gives each.
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "incorrect_number": "Your card number is incorrect.",
}
DECLINED_AT_ATTACH = {
    "4000000000000002": "generic_decline",
    "4000000000009987": "lost_card",
    "4000000000009979": "stolen_card",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
    "4000000000000119": "processing_error",
    "4242424242424241": "incorrect_number",
}
# Brands by the number's first digits (Stripe's names), with their lengths and CVC length.
BRANDS = [
    (re.compile(r"3[47]"), "amex", (15,), 4),
    (re.compile(r"5[1-5]|2(2[2-9]|[3-6]|7[01]|720)"), "mastercard", (16,), 3),
    (re.compile(r"6011|65|64[4-9]"), "discover", (16, 19), 3),
    (re.compile(r"3(0[0-5]|[689])"), "diners", (14, 16), 3),
    (re.compile(r"35"), "jcb", (16,), 3),
    (re.compile(r"62"), "unionpay", (16, 19), 3),
    (re.compile(r"4"), "visa", (13, 16, 19), 3),
]
CARD_FIELDS = {"number", "exp_month", "exp_year", "cvc"}
# Stripe's test card whose charges succeed and whose refunds fail; how long such a refund stays pending.
REFUND_FAILS = {"4000000000005126": "expired_or_canceled_card"}
REFUND_FAILS_AFTER = 1.0
CARD_FORM_JS = Path(__file__).with_name("localstripe_elements.js")


def card_error(code: str, message: str, param: str | None = None, **extra: str) -> UserError:
    """The 402 ``card_error`` Stripe answers for a card it cannot use."""
    error = UserError(402, message, {"code": code, **({"param": param} if param else {}), **extra})
    error.body["error"]["type"] = "card_error"
    return error


def declined(code: str) -> UserError:
    """Stripe's error for a declined card: ``card_declined`` with the decline code, or the specific code
    Stripe uses for some of them (``expired_card``, ``incorrect_cvc``, ...)."""
    specific = code in ("expired_card", "incorrect_cvc", "processing_error", "incorrect_number")
    return card_error(code if specific else "card_declined", DECLINE_MESSAGES[code], decline_code=code)


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    return sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)) % 10 == 0


def brand_of(number: str) -> tuple[str, tuple[int, ...], int]:
    for pattern, brand, lengths, cvc in BRANDS:
        if pattern.match(number):
            return brand, lengths, cvc
    return "unknown", tuple(range(13, 20)), 3


def check_card(card: dict[str, Any]) -> tuple[str, str]:
    """The card's number and brand, or Stripe's error for the first field it would refuse."""
    number = re.sub(r"[\s-]", "", str(card.get("number", "")))
    brand, lengths, cvc_length = brand_of(number)
    if not number.isdigit() or len(number) not in lengths or not luhn_valid(number):
        raise card_error("incorrect_number", "Your card number is incorrect.", "number")
    try:
        month, year = int(card.get("exp_month", "")), int(card.get("exp_year", ""))
    except (TypeError, ValueError):
        raise card_error(
            "invalid_expiry_month", "Your card's expiration month is invalid.", "exp_month"
        ) from None
    year += 2000 if 0 <= year < 100 else 0
    now = datetime.now(UTC)
    if not 1 <= month <= 12:
        raise card_error("invalid_expiry_month", "Your card's expiration month is invalid.", "exp_month")
    if not now.year <= year < 2100:
        raise card_error("invalid_expiry_year", "Your card's expiration year is invalid.", "exp_year")
    if (year, month) < (now.year, now.month):
        raise card_error("invalid_expiry_month", "Your card's expiration month is invalid.", "exp_month")
    cvc = str(card.get("cvc", ""))
    if not (cvc.isdigit() and len(cvc) == cvc_length):
        raise card_error("invalid_cvc", "Your card's security code is invalid.", "cvc")
    return number, brand


def teach_cards() -> None:
    """localstripe takes 16-digit numbers and 3-digit CVCs only, calls every card a Visa and answers
    "Bad request" for anything else. Cards are checked as Stripe checks them (American Express's 15 digits
    and 4-digit CVC included), with Stripe's error codes and messages, and keep their brand."""
    create = resources.PaymentMethod.__init__

    def create_checked(self: resources.PaymentMethod, *args: Any, **kwargs: Any) -> None:
        card = kwargs.get("card")
        if kwargs.get("type") != "card" or not isinstance(card, dict) or card.keys() != CARD_FIELDS:
            create(self, *args, **kwargs)  # localstripe's own answer
            return
        number, brand = check_card(card)
        # localstripe's own checks pass on a stand-in of the shape it knows; the real number is kept.
        create(self, *args, **{**kwargs, "card": {**card, "number": "4242424242424242", "cvc": "123"}})
        self._card_number = number
        self.card.update(last4=number[-4:], brand=brand, fingerprint=resources.fingerprint(number))

    resources.PaymentMethod.__init__ = create_checked


def teach_decline_codes() -> None:
    def card_number(pm: object) -> str | None:
        return getattr(pm, "_card_number", None)

    attaching, charging = (
        resources.PaymentMethod._attaching_is_declined,
        resources.PaymentMethod._charging_is_declined,
    )

    def attaching_is_declined(self: resources.PaymentMethod) -> bool:
        number = card_number(self)
        return (
            self.type == "card"
            and number not in DECLINED_AT_CHARGE
            and (number in DECLINED_AT_ATTACH or attaching(self))
        )

    def charging_is_declined(self: resources.PaymentMethod) -> bool:
        return (self.type == "card" and card_number(self) in DECLINED_AT_CHARGE) or charging(self)

    def set_auth_failure(self: resources.Charge) -> None:
        pm = resources.PaymentMethod._api_retrieve(self.payment_method)
        code = DECLINED_AT_CHARGE.get(card_number(pm) or "", "generic_decline") if pm.type == "card" else None
        self.status, self.failure_code = "failed", "card_declined"
        self.failure_message = DECLINE_MESSAGES.get(code or "", "Your card was declined.")
        self._decline_code = code

    def raise_failure(self: resources.Charge) -> None:
        extra = {"code": self.failure_code, "charge": self.id}
        if getattr(self, "_decline_code", None):
            extra["decline_code"] = self._decline_code
        raise UserError(402, self.failure_message, extra)

    attach_to_setup = resources.SetupIntent._attach_pm

    def attach_to_setup_with_reason(self: resources.SetupIntent, pm: resources.PaymentMethod) -> None:
        try:
            attach_to_setup(self, pm)
        except UserError as error:
            if error.code != 402:
                raise
            raise declined(DECLINED_AT_ATTACH.get(card_number(pm) or "", "generic_decline")) from None

    resources.SetupIntent._attach_pm = attach_to_setup_with_reason
    resources.PaymentMethod._attaching_is_declined = attaching_is_declined
    resources.PaymentMethod._charging_is_declined = charging_is_declined
    resources.Charge._set_auth_failure = set_auth_failure
    resources.Charge._raise_failure = raise_failure


def teach_refund_failures() -> None:
    """A refund of a charge made with a card of ``REFUND_FAILS`` is ``pending``, then ``failed`` (looked at
    after ``REFUND_FAILS_AFTER`` seconds); a failed or canceled refund gives nothing back, so the charge's
    ``amount_refunded`` leaves it out (localstripe knows only refunds that succeed)."""
    create = resources.Refund.__init__

    def create_maybe_failing(self: resources.Refund, *args: Any, **kwargs: Any) -> None:
        create(self, *args, **kwargs)
        charge = resources.Charge._api_retrieve(self.charge)
        method = getattr(charge, "payment_method", None)
        pm = resources.PaymentMethod._api_retrieve(method) if method else None
        reason = REFUND_FAILS.get(getattr(pm, "_card_number", None) or "")
        if reason:
            self.status, self._failure_reason = "pending", reason
            self._fails_at = time.time() + REFUND_FAILS_AFTER

    def settled(refund: resources.Refund) -> resources.Refund:
        fails_at = getattr(refund, "_fails_at", None)
        if refund.status == "pending" and fails_at is not None and time.time() >= fails_at:
            refund.status, refund.failure_reason = "failed", refund._failure_reason
        return refund

    export = resources.Refund._export

    def export_settled(self: resources.Refund, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return export(settled(self), *args, **kwargs)

    def amount_refunded(self: resources.Charge) -> int:
        refunds = [settled(r) for r in self.refunds._list]
        return sum(r.amount for r in refunds if r.status not in ("failed", "canceled"))

    resources.Refund.__init__ = create_maybe_failing
    resources.Refund._export = export_settled
    resources.Charge.amount_refunded = property(amount_refunded)


def index_refunds_by_charge() -> None:
    """localstripe finds a charge's refunds by scanning its whole store, and does so whenever it shows a
    charge, so in every PaymentIntent it returns: a charge took 5 ms in an empty store and 23 ms after 3,000
    charges. An index of refunds by charge keeps it constant."""
    by_charge: defaultdict[str, list[resources.Refund]] = defaultdict(list)
    for value in resources.store.values():  # refunds loaded from the state file
        if isinstance(value, resources.Refund):
            by_charge[value.charge].append(value)
    create = resources.Refund.__init__

    def create_and_index(self: resources.Refund, *args: Any, **kwargs: Any) -> None:
        create(self, *args, **kwargs)
        by_charge[self.charge].append(self)

    def refunds(self: resources.Charge) -> resources.List:
        found = resources.List("/v1/charges/" + self.id + "/refunds")
        found._list = sorted(by_charge.get(self.id, []), key=lambda refund: refund.date, reverse=True)
        return found

    resources.Refund.__init__ = create_and_index
    resources.Charge.refunds = property(refunds)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def serve_card_form() -> None:
    """localstripe's stand-in for Stripe.js (/js.stripe.com/v3/), followed by ours: the card Element's form
    with labels, a numeric keypad, autofill, an ``MM / YY`` expiry and Stripe.js's own messages."""
    script = (
        Path(resources.__file__).with_name("localstripe-v3.js").read_text() + "\n" + CARD_FORM_JS.read_text()
    )

    @web.middleware
    async def stripe_js(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "GET" and request.path == "/js.stripe.com/v3/":
            return web.Response(
                text=script, content_type="application/javascript", headers={"Cache-Control": "no-cache"}
            )
        return await handler(request)

    server.app.middlewares.append(stripe_js)


LIVE = contextvars.ContextVar("livemode", default=False)  # the mode of the request being handled
LIVE_KEYS = ("sk_live_", "rk_live_", "pk_live_")


def _ids_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [i for v in value.values() for i in _ids_in(v)]
    if isinstance(value, list):
        return [i for v in value for i in _ids_in(v)]
    return []


def separate_modes() -> None:
    """Each object made is tagged with the mode of the request's key (a secret key in the Authorization
    header, or the publishable key Stripe.js posts as ``key``); a request that names an object of the other
    mode, in its path or its parameters, gets Stripe's 404, and lists show only the request's mode."""
    modes: dict[str, bool] = {}  # object id -> livemode
    for value in resources.store.values():  # objects loaded from the state file
        if isinstance(getattr(value, "id", None), str):
            modes[value.id] = bool(getattr(value, "livemode", False))
    init = resources.StripeObject.__init__

    def init_in_mode(self: resources.StripeObject, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if not isinstance(self, resources.List) and isinstance(getattr(self, "id", None), str):
            self.livemode = LIVE.get()
            modes[self.id] = self.livemode

    compute = resources.List._compute_starting_pos

    def compute_in_mode(self: resources.List) -> None:
        if self._starting_pos is None:
            live = LIVE.get()
            self._list = [item for item in self._list if getattr(item, "livemode", live) == live]
        compute(self)

    resources.StripeObject.__init__ = init_in_mode
    resources.List._compute_starting_pos = compute_in_mode

    @web.middleware
    async def in_mode(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/v1/"):
            return await handler(request)
        data = await server.get_post_data(request, remove_auth=False) if request.method == "POST" else {}
        key = server.get_api_key(request) or (data or {}).get("key") or ""
        live = isinstance(key, str) and key.startswith(LIVE_KEYS)
        named = request.path.split("/") + _ids_in(data or {}) + _ids_in(dict(request.query))
        for name in named:
            if modes.get(name, live) != live:
                raise UserError(404, f"No such object: '{name}' (it belongs to the other mode)")
        token = LIVE.set(live)
        try:
            return await handler(request)
        finally:
            LIVE.reset(token)

    server.app.middlewares.append(in_mode)


IDEMPOTENCY_WINDOW = 24 * 3600
# Answers a retry must not replay: refused keys, conflicts and rate limits (the request did not run), and
# server errors.
NOT_KEPT = {401, 409, 429}


def _stripe_error(status: int, kind: str, message: str, code: str | None = None) -> web.Response:
    error = {"type": kind, "message": message, **({"code": code} if code else {})}
    return web.json_response({"error": error}, status=status)


def honour_idempotency_keys() -> None:
    """Stripe's idempotency: a POST with an ``Idempotency-Key`` runs once per (secret key, idempotency key);
    a repeat with the same path and body gets the first answer again (errors included: a decline stays a
    decline), a repeat with another request a 400, and one that arrives while the first is running a 409."""
    kept: dict[tuple[str, str], tuple[float, str, int, bytes, str]] = {}
    running: set[tuple[str, str]] = set()

    @web.middleware
    async def idempotent(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key or not request.path.startswith("/v1/"):
            return await handler(request)
        scope = (server.get_api_key(request) or "", key)
        if scope in running:
            return _stripe_error(
                409,
                "idempotency_error",
                "There is currently another in-progress request using this Idempotent Key (that probably "
                "means you submitted twice, and the other request is still going through): "
                f"{key}. Please try again later.",
                "idempotency_key_in_use",
            )
        running.add(scope)
        try:
            body = await request.read()
            fingerprint = hashlib.sha256(request.path.encode() + b"\n" + body).hexdigest()
            now = time.time()
            for stale in [k for k, v in kept.items() if v[0] < now - IDEMPOTENCY_WINDOW]:
                del kept[stale]
            if scope in kept:
                _, first, status, answer, content_type = kept[scope]
                if first != fingerprint:
                    return _stripe_error(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters they were "
                        f"first used with. Try using a key other than '{key}' if you meant to execute a "
                        "different request.",
                    )
                headers = {"Idempotent-Replayed": "true", "Idempotency-Key": key}
                return web.Response(body=answer, status=status, content_type=content_type, headers=headers)
            try:
                response = await handler(request)
            except UserError as error:
                response = error.to_response()
            status = response.status
            if isinstance(response, web.Response) and status < 500 and status not in NOT_KEPT:
                answer = response.body if isinstance(response.body, bytes) else b""
                kept[scope] = (now, fingerprint, response.status, answer, response.content_type)
            response.headers["Idempotency-Key"] = key
            return response
        finally:
            running.discard(scope)

    # First of all: the key is taken before anything reads the body, so a second request that arrives
    # while the first is still being sent or handled sees it in use.
    server.app.middlewares.insert(0, idempotent)


def list_payment_intents_by_customer() -> None:
    """``GET /v1/payment_intents?customer=cus_…`` (Stripe has it; localstripe answers 400)."""
    list_all = resources.PaymentIntent._api_list_all

    def list_for(cls: type, url: str, customer: str | None = None, **kwargs: Any) -> resources.List:
        found = list_all(url, **kwargs)
        if customer is not None:
            resources.Customer._api_retrieve(customer)  # 404 for a customer that does not exist
            found._list = [pi for pi in found._list if getattr(pi, "customer", None) == customer]
        return found

    resources.PaymentIntent._api_list_all = classmethod(list_for)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state-file", type=Path)
    args = parser.parse_args()

    teach_decline_codes()
    teach_cards()
    teach_authentication()
    serve_card_form()
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None
    if args.state_file and args.state_file.exists():
        resources.store.update(pickle.loads(args.state_file.read_bytes()))
    teach_refund_failures()
    index_refunds_by_charge()
    separate_modes()
    honour_idempotency_keys()
    list_payment_intents_by_customer()

    async def save_state(_app: web.Application) -> None:
        if args.state_file:
            args.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.state_file.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(dict(resources.store), protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(args.state_file)

    server.app.on_shutdown.append(save_state)
    logging.basicConfig(level=logging.WARNING)
    web.run_app(server.app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
