"""New terms for a bound assignment before its premium is collected (``PUT /assignments/{id}`` through the
official client's ``Assignments.modify``), on Temporal's time-skipping server with the real worker, the API
and localstripe: the pending charge is cancelled and starts over with the new price after a new notice,
the coverage and its certificates follow the new terms, the card is charged once; after the charge the
terms are final (409)."""

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import ten99policy
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from common.settings import Settings
from tests.histories import keep_history
from tests.support import Org, contractor_fields, eventually, intents_of, job_fields, serve, unique_email
from tests.test_assignment_workflow import emails, save_card, settled
from tests.test_assignments_api import _opt_in

HOUR = 3600


@pytest.fixture
def official(skipping: WorkflowEnvironment, settings: Settings, org: Org) -> Iterator[str]:
    """The API on the time-skipping server's Temporal, and the official client pointed at it."""
    mine = settings.model_copy(update={"temporal_address": skipping.client.service_client.config.target_host})
    saved = (ten99policy.api_base, ten99policy.api_key, ten99policy.log)
    with serve(create_app(mine), settings=mine) as url:
        ten99policy.api_base, ten99policy.api_key, ten99policy.log = url, org.sandbox_key, None
        try:
            yield url
        finally:
            ten99policy.api_base, ten99policy.api_key, ten99policy.log = saved


async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The official client is synchronous, and the test's event loop runs the worker: call from a thread."""
    return await asyncio.to_thread(function, *args, **kwargs)


def charges(localstripe: str, assignment_id: str) -> list[tuple[str, int]]:
    return intents_of(localstripe, assignment_id, key="assignment")


def _put(official: str, org: Org, assignment_id: str, **fields: object) -> httpx.Response:
    return httpx.put(
        f"{official}/api/v1/assignments/{assignment_id}", json=fields, auth=(org.sandbox_key, ""), timeout=60
    )


def _contractor_with_card(
    factory: sessionmaker[Session], settings: Settings, org: Org, localstripe: str
) -> str:
    contractor = ten99policy.Contractors.create(**contractor_fields(unique_email("rebind")))["id"]
    save_card(factory, settings, org, contractor, "4242424242424242", localstripe)
    return contractor


async def test_new_terms_in_the_notice_window_restart_the_charge_at_the_new_price_once(
    skipping: WorkflowEnvironment,
    official: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    factory = session_factory
    entity = (await call(ten99policy.Entities.create, name="Rebind Brands"))["id"]
    contractor = await call(_contractor_with_card, factory, settings, org, localstripe)
    job = (await call(ten99policy.Jobs.create, **job_fields(entity)))["id"]
    quote = await call(
        ten99policy.Quotes.create, contractor=contractor, job=job, coverage_type=["workers-comp"]
    )
    policy = await call(ten99policy.Policies.create, quote=quote["id"])
    assignment = await call(
        ten99policy.Assignments.create,
        contractor=contractor,
        job=job,
        coverage_type=["workers-comp"],
        effective_date=quote["effective_date"],
        end_date=quote["end_date"],
    )
    assert (assignment["coverage_path"], assignment["policy"]) == ("existing_policy", policy["id"])
    an = assignment["id"]
    await settled(lambda: "assignment_charge_reminder" in emails(factory, an))
    first_due = (await call(ten99policy.Assignments.retrieve, an))["charge_due_at"]
    assert first_due

    # Hour 23 of the notice: the platform moves the engagement to a better-paid job (same category and
    # state: the policy on file still covers it). The premium follows the new job; nothing was collected.
    await skipping.sleep(timedelta(hours=23))
    better = (await call(ten99policy.Jobs.create, **job_fields(entity, wage=400_000)))["id"]
    moved = await call(ten99policy.Assignments.modify, an, job=better)
    assert (moved["job"], moved["policy"], moved["status"], moved["premium_collected"]) == (
        better,
        policy["id"],
        "pending",
        0,
    )
    new_premium = moved["premium"]
    assert new_premium > assignment["premium"]
    assert moved["certificates"]["wc_coi_pdf_url"]  # the policy on file's

    # The old due time passes: nothing is charged. A new notice went out, for the new price.
    await skipping.sleep(timedelta(hours=2))
    assert await call(charges, localstripe, an) == []
    await settled(lambda: emails(factory, an).count("assignment_charge_reminder") == 2)
    due = (await call(ten99policy.Assignments.retrieve, an))["charge_due_at"]
    assert due and due >= first_due + 23 * HOUR
    await skipping.sleep(timedelta(hours=21, minutes=30))
    assert await call(charges, localstripe, an) == []
    await skipping.sleep(timedelta(hours=1))  # 24 hours after the new terms
    await settled(lambda: charges(localstripe, an) == [("succeeded", new_premium)], timeout=30)
    collected = await call(
        eventually, lambda: (a := ten99policy.Assignments.retrieve(an))["status"] == "active" and a
    )
    assert (collected["premium"], collected["premium_collected"]) == (new_premium, new_premium)

    # Collected: the terms are final.
    refused = await call(_put, official, org, an, job=job)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error_code"] == "invoice_already_paid"
    assert (await call(ten99policy.Assignments.retrieve, an))["job"] == better
    assert await call(charges, localstripe, an) == [("succeeded", new_premium)]

    handle = skipping.client.get_workflow_handle(f"assignment-{an}")
    await handle.terminate("test over")
    await keep_history(handle, "assignment_rebound_before_charge")


async def test_new_dates_rebind_coverage_bound_for_the_assignment_with_new_certificates(
    skipping: WorkflowEnvironment,
    official: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    """Bound from a general opt-in, the assignment's policy was made for its own dates. New dates: that
    policy is cancelled, a new one covers the new dates with new certificates, the charge starts over."""
    factory = session_factory
    entity = (await call(ten99policy.Entities.create, name="Opt-in Brands"))["id"]
    contractor = await call(_contractor_with_card, factory, settings, org, localstripe)
    await asyncio.to_thread(_opt_in, factory, org, contractor, "CA")
    job = (await call(ten99policy.Jobs.create, **job_fields(entity)))["id"]
    start = int(time.time()) + 7 * 86_400
    assignment = await call(
        ten99policy.Assignments.create,
        contractor=contractor,
        job=job,
        coverage_type=["workers-comp"],
        effective_date=start,
        end_date=start + 30 * 86_400,
    )
    assert assignment["coverage_path"] == "general_opt_in"
    an = assignment["id"]
    bound = await call(
        eventually,
        lambda: (a := ten99policy.Assignments.retrieve(an))["certificates"]["wc_coi_pdf_url"] and a,
    )
    old_policy = bound["policy"]
    await settled(lambda: "assignment_charge_reminder" in emails(factory, an))
    await skipping.sleep(timedelta(hours=12))

    moved = await call(ten99policy.Assignments.modify, an, end_date=start + 60 * 86_400)
    assert moved["end_date"] == start + 60 * 86_400 and moved["policy"] != old_policy
    assert moved["certificates"]["wc_coi_pdf_url"] and (
        moved["certificates"]["wc_coi_pdf_url"] != bound["certificates"]["wc_coi_pdf_url"]
    )
    new_policy = await call(ten99policy.Policies.retrieve, moved["policy"])
    assert (new_policy["effective_date"], new_policy["expiration_date"], new_policy["is_active"]) == (
        start,
        start + 60 * 86_400,
        True,
    )
    assert (await call(ten99policy.Policies.retrieve, old_policy))["is_active"] is False
    cancelled = await call(ten99policy.Events.list, type="policy.cancelled")
    assert any(e["data"]["id"] == old_policy for e in cancelled)

    await skipping.sleep(timedelta(hours=13))  # past the first notice: nothing charged
    assert await call(charges, localstripe, an) == []
    await skipping.sleep(timedelta(hours=12))  # 24 hours after the new terms
    await settled(lambda: charges(localstripe, an) == [("succeeded", moved["premium"])], timeout=30)
    handle = skipping.client.get_workflow_handle(f"assignment-{an}")
    await handle.terminate("test over")
