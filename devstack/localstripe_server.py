"""Run localstripe on loopback only, without its write-every-request pickle.

localstripe's own CLI binds every interface and pickles its whole store to /tmp on every write (latency
grows with each object). Here the store lives in memory while running and, when a ``--state-file`` is
given, is loaded at start and saved once at a clean stop, so a second ``make run`` finds the same data.
"""

import argparse
import logging
import pickle
from collections import defaultdict
from pathlib import Path
from typing import Any

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

# Cards that attach fine and are then declined when charged, with Stripe's decline code. 4546381219393284 is
# the seed's insufficient-funds card; localstripe itself knows neither it nor decline codes.
DECLINED_AT_CHARGE = {"4546381219393284": "insufficient_funds", "4000000000009995": "insufficient_funds"}
DECLINE_MESSAGES = {"insufficient_funds": "Your card has insufficient funds."}


def teach_decline_codes() -> None:
    def card_number(pm: object) -> str | None:
        return getattr(pm, "_card_number", None)

    attaching, charging = (
        resources.PaymentMethod._attaching_is_declined,
        resources.PaymentMethod._charging_is_declined,
    )

    def attaching_is_declined(self: resources.PaymentMethod) -> bool:
        return self.type == "card" and card_number(self) not in DECLINED_AT_CHARGE and attaching(self)

    def charging_is_declined(self: resources.PaymentMethod) -> bool:
        return (self.type == "card" and card_number(self) in DECLINED_AT_CHARGE) or charging(self)

    def set_auth_failure(self: resources.Charge) -> None:
        pm = resources.PaymentMethod._api_retrieve(self.payment_method)
        code = DECLINED_AT_CHARGE.get(card_number(pm), "generic_decline") if pm.type == "card" else None
        self.status, self.failure_code = "failed", "card_declined"
        self.failure_message = DECLINE_MESSAGES.get(code or "", "Your card was declined.")
        self._decline_code = code

    def raise_failure(self: resources.Charge) -> None:
        extra = {"code": self.failure_code, "charge": self.id}
        if getattr(self, "_decline_code", None):
            extra["decline_code"] = self._decline_code
        raise UserError(402, self.failure_message, extra)

    resources.PaymentMethod._attaching_is_declined = attaching_is_declined  # type: ignore[method-assign]
    resources.PaymentMethod._charging_is_declined = charging_is_declined  # type: ignore[method-assign]
    resources.Charge._set_auth_failure = set_auth_failure  # type: ignore[method-assign]
    resources.Charge._raise_failure = raise_failure  # type: ignore[method-assign]


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

    resources.Refund.__init__ = create_and_index  # type: ignore[method-assign]
    resources.Charge.refunds = property(refunds)  # type: ignore[method-assign,assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state-file", type=Path)
    args = parser.parse_args()

    teach_decline_codes()
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    if args.state_file and args.state_file.exists():
        resources.store.update(pickle.loads(args.state_file.read_bytes()))
    index_refunds_by_charge()

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
