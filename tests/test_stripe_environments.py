"""Each environment pays with its own Stripe keys: the sandbox with test-mode keys, production with live-mode
keys, end to end (the card page's publishable key, the customer and card, the hold, the capture, the refund
and the off-session charge of the final pay). localstripe keeps the two modes apart as Stripe does, so a
key of the wrong mode anywhere would fail. A process whose keys are of the wrong mode refuses to start."""

import os
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest
import stripe
from pydantic import BaseModel

from common.settings import Settings
from common.startup import SettingsError, check_settings
from tests.support import ROOT, Org, contractor_fields, entity_fields, eventually, job_fields, unique_email
from tests.test_application_flow import CANCEL, DETAILS_FORM, SUCCESS, _page, _post

pytestmark = pytest.mark.usefixtures("worker")
SEED_INVOICE = {"paycycle_startdate": 1714419793, "paycycle_enddate": 1714419793}


class Mode(BaseModel):
    environment: str
    api_key_of: str  # which of the organization's keys
    stripe_secret: str  # a key of the Stripe mode this environment must use (what the test checks with)
    other_secret: str  # a key of the other mode
    publishable: str  # what the card page must hand Stripe.js
    livemode: bool


SANDBOX = Mode(
    environment="sandbox",
    api_key_of="sandbox_key",
    stripe_secret="sk_test_checks",
    other_secret="sk_live_checks",
    publishable="pk_test_gigcover_local",
    livemode=False,
)
PRODUCTION = Mode(
    environment="production",
    api_key_of="production_key",
    stripe_secret="sk_live_checks",
    other_secret="sk_test_checks",
    publishable="pk_live_gigcover_local",
    livemode=True,
)


def _stripe(base: str, key: str) -> Any:
    return stripe.StripeClient(key, base_addresses={"api": base})


def _objects(base: str, key: str, kind: str, metadata: tuple[str, str]) -> list[Any]:
    """The PaymentIntents or Refunds a key can see whose metadata names the owner."""
    listed = getattr(_stripe(base, key).v1, kind).list(params={"limit": 100})
    return [
        o
        for o in listed.auto_paging_iter()
        if o.to_dict().get("metadata", {}).get(metadata[0]) == metadata[1]
    ]


@pytest.mark.parametrize("mode", [SANDBOX, PRODUCTION], ids=["sandbox", "production"])
def test_each_environment_pays_with_its_own_stripe_mode(
    api_url: str, org: Org, localstripe: str, mode: Mode
) -> None:
    key = getattr(org, mode.api_key_of)
    with (
        httpx.Client(base_url=f"{api_url}/api/v1", auth=(key, ""), timeout=30) as http,
        httpx.Client(base_url=api_url, timeout=60) as browser,
    ):
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields(unique_email())).json()["id"]
        job = http.post("/jobs", json=job_fields(entity, wage=500_000)).json()["id"]
        coverage = {"contractor": contractor, "job": job, "coverage_type": ["workers-comp"]}
        quote = http.post("/quotes", json=coverage).json()
        session = http.post(
            "/apply/sessions", json={"quote": quote["id"], "success_url": SUCCESS, "cancel_url": CANCEL}
        ).json()

        # The contractor's pages, up to the card.
        base = "/" + session["url"].split("127.0.0.1", 1)[1].split("/", 1)[1]
        assert _page(browser, base).status_code == 200
        _post(browser, f"{base}/verify_info", DETAILS_FORM)
        answers = {"hires_workers": "no", "licensed_if_required": "yes", "claims_last_three_years": "0"}
        _post(browser, f"{base}/application_questions", {**answers, "years_experience": "6"})
        _post(browser, f"{base}/esignature_document", {"typed_name": "Jane Doe", "consent": "yes"})
        card_page = browser.get(base).text
        assert f'Stripe("{mode.publishable}")' in card_page  # this mode's publishable key
        assert re.search(r'confirmCardSetup\("(seti_[^"]+)"', card_page)

        # What Stripe.js does with that key: the card becomes a PaymentMethod of the same mode.
        method = _stripe(localstripe, mode.stripe_secret).v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"},
            }
        )
        saved = _post(browser, f"{base}/add_card_details", {"payment_method_id": method.id})
        assert "Review and complete" in browser.get(saved.headers["location"]).text
        assert _post(browser, f"{base}/final_review", {}).headers["location"] == SUCCESS

        # The hold and its capture: in this mode, invisible to the other.
        owner = ("session", session["id"])
        [intent] = _objects(localstripe, mode.stripe_secret, "payment_intents", owner)
        assert (intent.status, intent.amount, intent.livemode) == (
            "succeeded",
            quote["premium_due"],
            mode.livemode,
        )
        assert _objects(localstripe, mode.other_secret, "payment_intents", owner) == []
        with pytest.raises(stripe.InvalidRequestError):
            _stripe(localstripe, mode.other_secret).v1.payment_intents.retrieve(intent.id)

        # The final pay: lower (a refund), then higher (an off-session charge of the saved card).
        [assignment] = eventually(lambda: http.get("/assignments", params={"contractor": contractor}).json())
        lower = http.post(
            "/invoices", json={"contractor": contractor, "job": job, "gross_pay": 1200, **SEED_INVOICE}
        )
        assert lower.status_code == 201, lower.text
        refund = quote["premium_due"] - lower.json()["premium_due"]
        by_assignment = ("assignment", assignment["id"])
        refunds = eventually(
            lambda: _objects(localstripe, mode.stripe_secret, "refunds", by_assignment), timeout=30
        )
        assert [(r.amount, r.livemode) for r in refunds] == [(refund, mode.livemode)]
        assert _objects(localstripe, mode.other_secret, "refunds", by_assignment) == []
        higher = http.post(
            "/invoices", json={"contractor": contractor, "job": job, "gross_pay": 800_000, **SEED_INVOICE}
        ).json()
        debit = higher["premium_due"] - lower.json()["premium_due"]
        charged = eventually(
            lambda: _objects(localstripe, mode.stripe_secret, "payment_intents", by_assignment), timeout=30
        )
        assert [(c.status, c.amount, c.livemode) for c in charged] == [("succeeded", debit, mode.livemode)]


def _refusal(**slots: str) -> str:
    with pytest.raises(SettingsError) as refused:
        check_settings(Settings(_env_file=None, **slots))  # type: ignore[arg-type]
    return str(refused.value)


def test_a_key_of_the_wrong_mode_is_refused() -> None:
    check_settings(Settings(_env_file=None))  # the local defaults: test keys and live keys for localstripe
    check_settings(
        Settings(
            _env_file=None,
            stripe_api_base="",
            stripe_sandbox_secret_key="rk_test_restricted",
            stripe_sandbox_publishable_key="pk_test_real",
            stripe_production_secret_key="sk_live_real",
            stripe_production_publishable_key="pk_live_real",
        )
    )
    message = _refusal(stripe_production_secret_key="sk_test_oops")
    assert message == (
        "GIGCOVER_STRIPE_PRODUCTION_SECRET_KEY holds a test-mode key: the production environment takes a "
        "live-mode secret key (sk_live_… or rk_live_…)"
    )
    assert "sk_test_oops" not in message  # a problem is named, never the key itself
    assert _refusal(stripe_sandbox_secret_key="sk_live_oops").startswith(
        "GIGCOVER_STRIPE_SANDBOX_SECRET_KEY holds a live-mode key: the sandbox environment takes a test-mode"
    )
    assert "GIGCOVER_STRIPE_PRODUCTION_PUBLISHABLE_KEY holds a test-mode key" in _refusal(
        stripe_production_publishable_key="pk_test_oops"
    )
    assert "GIGCOVER_STRIPE_SANDBOX_PUBLISHABLE_KEY holds no Stripe key of that kind" in _refusal(
        stripe_sandbox_publishable_key="sk_test_secret_in_the_public_slot"
    )
    both = _refusal(stripe_api_base="")  # real Stripe with the local stand-in's placeholders
    assert both.count("is the local stand-in's placeholder") == 4


@pytest.mark.parametrize(
    ("command", "slot", "value"),
    [
        (
            ["-m", "api.serve", "--port", "1"],
            "GIGCOVER_STRIPE_PRODUCTION_SECRET_KEY",
            "sk_test_in_production",
        ),
        (["worker.py"], "GIGCOVER_STRIPE_SANDBOX_SECRET_KEY", "sk_live_in_the_sandbox"),
    ],
    ids=["api", "worker"],
)
def test_the_api_and_the_worker_refuse_to_start_with_it(command: list[str], slot: str, value: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIGCOVER_STRIPE")} | {slot: value}
    started = subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 1
    assert f"refusing to start: {slot} holds a" in started.stderr
    assert value not in started.stderr and "Traceback" not in started.stderr
