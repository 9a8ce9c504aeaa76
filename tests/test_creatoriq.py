"""CreatorIQ end to end: a fake CreatorIQ (real HTTP, documented shapes, signed webhooks) drives the real
API, the real sync workflows on the dev server, the database and SMTP, through every case of seed 002."""

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import ScheduleActionStartWorkflow

from common.settings import Settings
from contracts.creatoriq import CREATORIQ_POLL_WORKFLOW
from db.models import ApplicationSession, Contractor, Event
from integrations import temporal
from integrations.creatoriq.signature import sign
from outbox.schedule import CREATORIQ_SCHEDULE_ID, ensure_schedules
from tests.fake_creatoriq import Account, FakeCreatorIQ
from tests.histories import keep_history
from tests.support import Org, SmtpSink, eventually

pytestmark = pytest.mark.usefixtures("worker")
CAMPAIGN = 7001


def _day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT00:00:00")


def keep(settings: Settings, workflow_id: str, scenario: str) -> None:
    """Record a workflow's history for test_replay (when recording is on)."""

    async def fetch() -> None:
        client = await temporal.connect(settings)
        await keep_history(client.get_workflow_handle(workflow_id), scenario)

    asyncio.run(fetch())


def sync_id(org: Org, publisher_id: int) -> str:
    return f"creatoriq-sync-{org.id}-sandbox-{CAMPAIGN}-{publisher_id}"


class Platform:
    """The organization's side: our API with its sandbox key."""

    def __init__(self, api_url: str, org: Org) -> None:
        self.http = httpx.Client(
            base_url=f"{api_url}/api/v1", headers={"Authorization": f"Bearer {org.sandbox_key}"}, timeout=60
        )

    def creators(self, **filters: Any) -> list[dict[str, Any]]:
        response = self.http.get("/creatoriq/creators", params=filters)
        assert response.status_code == 200, response.text
        return response.json()

    def reaches(self, publisher_id: int, status: str, timeout: float = 30) -> dict[str, Any]:
        """Waits for the creator's sync record to have ``status``, and returns it."""
        return eventually(
            lambda: self.creator(publisher_id, status),
            timeout,
            explain=lambda: self.creators(publisher_id=publisher_id),
        )

    def creator(self, publisher_id: int, status: str | None = None) -> dict[str, Any] | None:
        found = self.creators(publisher_id=publisher_id)
        if found and (status is None or found[0]["status"] == status):
            return found[0]
        return None


@pytest.fixture
def platform(api_url: str, org: Org) -> Platform:
    return Platform(api_url, org)


@pytest.fixture
def account(creatoriq: FakeCreatorIQ, platform: Platform) -> Iterator[Account]:
    """A CreatorIQ account whose key the organization saved and whose webhooks come to us."""
    account = creatoriq.account(f"ciq_{secrets.token_hex(16)}")
    account.add_campaign(CAMPAIGN, "Summer launch", start=_day(10), end=_day(40))
    saved = platform.http.put("/organization/creatoriq", json={"api_key": account.api_key})
    assert saved.status_code == 200, saved.text
    subscribed = platform.http.post("/creatoriq/webhook_subscription")
    assert subscribed.status_code == 200, subscribed.text
    yield account


def ready_creator(
    account: Account, publisher_id: int, email: str, accept: bool = True, **fields: str
) -> None:
    """Seed 002's sequence, steps 2 to 6: add the creator, the address, the payment, the fields, Accepted."""
    account.add_creator(CAMPAIGN, publisher_id, "Maya Lopez")
    account.update_publisher(
        publisher_id, AddressLine1="1 Sunset Blvd", City="Los Angeles", State="CA", ZIPCode="90028"
    )
    account.set_payment(CAMPAIGN, publisher_id, 4500)
    account.set_custom_fields(CAMPAIGN, publisher_id, **fields)
    if accept:
        account.set_status(CAMPAIGN, publisher_id, "Accepted")


def _mail_to(smtp_sink: SmtpSink, address: str) -> list[Any]:
    return [m for m in smtp_sink.messages if address in str(m["To"])]  # type: ignore[index]


def test_the_seed_sequence_makes_a_contractor_a_job_and_an_emailed_application_link(
    platform: Platform,
    account: Account,
    smtp_sink: SmtpSink,
    session_factory: sessionmaker[Session],
    org: Org,
    settings: Settings,
) -> None:
    email = f"maya{secrets.token_hex(4)}@example.com"
    ready_creator(account, 501, "old@example.com", CustomField10="4500", CustomField8="NY")
    assert platform.creator(501) is None  # no sync before the update that follows Accepted
    account.update_publisher(501, Email=email)  # step 7: the trigger

    synced = platform.reaches(501, "synced")
    assert synced["reasons"] == [] and synced["campaign_id"] == CAMPAIGN
    assert synced["application_url"].startswith("http://127.0.0.1")
    contractor = platform.http.get(f"/contractors/{synced['contractor']}").json()
    assert (contractor["first_name"], contractor["last_name"], contractor["email"]) == (
        "Maya",
        "Lopez",
        email,
    )
    assert contractor["address"]["region"] == "CA"
    job = platform.http.get(f"/jobs/{synced['job']}").json()
    assert (job["name"], job["wage"], job["wage_type"]) == ("Summer launch", 450_000, "flatfee")
    quote = platform.http.get(f"/quotes/{synced['quote']}").json()
    assert quote["work_state"] == "NY" and quote["residence_state"] == "CA"  # Work State (CustomField8)
    assert quote["effective_date"] == int(datetime.fromisoformat(_day(10) + "+00:00").timestamp())
    application = platform.http.get(f"/apply/sessions/{synced['application_session']}").json()
    assert application["url"] == synced["application_url"]
    assert application["withhold_premium"] is False  # Agency Pay defaults to false: the creator pays

    mail = eventually(lambda: _mail_to(smtp_sink, email))
    assert len(mail) == 1 and synced["application_url"] in mail[0].get_body(("plain",)).get_content()

    events = platform.http.get("/events", params={"type": "creatoriq.creator_synced"}).json()
    assert [e["data"]["id"] for e in events if e["data"]["publisher_id"] == 501] == [synced["id"]]

    # The same webhook again, and a sync on demand: nothing new is made
    account.deliver(account.envelope("Publisher", "update", 501, {"PublisherId": 501, "ChangedData": {}}))
    on_demand = platform.http.post("/creatoriq/syncs", json={"campaign_id": CAMPAIGN})
    assert on_demand.status_code == 202
    eventually(lambda: (platform.creator(501) or {}).get("sync_count", 0) >= 3)
    time.sleep(1)
    again = platform.creator(501)
    assert again and again["application_session"] == synced["application_session"]
    with session_factory() as session:
        owned = (Contractor.organization_id == org.id, Contractor.deleted_at.is_(None))
        assert session.scalar(select(func.count()).select_from(Contractor).where(*owned)) == 1
        sessions = select(func.count()).select_from(ApplicationSession)
        assert session.scalar(sessions.where(ApplicationSession.organization_id == org.id)) == 1
    assert len(_mail_to(smtp_sink, email)) == 1
    keep(settings, sync_id(org, 501), "creatoriq_sync_repeated")
    keep(settings, on_demand.json()["id"], "creatoriq_scan_on_demand")


def test_an_update_to_a_synced_creator_updates_the_contractor(
    platform: Platform, account: Account, smtp_sink: SmtpSink
) -> None:
    first = f"first{secrets.token_hex(4)}@example.com"
    ready_creator(account, 502, first, CustomField10="3000")
    account.update_publisher(502, Email=first)
    synced = platform.reaches(502, "synced")

    moved = f"moved{secrets.token_hex(4)}@example.com"
    account.update_publisher(502, Email=moved, AddressLine1="9 Ocean Ave", City="San Diego")
    contractor = eventually(
        lambda: (
            (c := platform.http.get(f"/contractors/{synced['contractor']}").json())["email"] == moved and c
        )
    )
    assert contractor["address"]["line1"] == "9 Ocean Ave"
    assert len(platform.http.get("/contractors", params={"limit": 100}).json()) == 1
    # the open application keeps its link, which goes to the new address too
    assert platform.creator(502)["application_session"] == synced["application_session"]  # type: ignore[index]
    eventually(lambda: _mail_to(smtp_sink, moved))


def test_agency_pay_withholds_the_premium_and_puts_the_purchase_order_on_the_job(
    platform: Platform, account: Account
) -> None:
    email = f"agency{secrets.token_hex(4)}@example.com"
    ready_creator(
        account,
        503,
        email,
        CustomField3="PO-7731",
        CustomField4="rep@agency.example",
        CustomField5="Riley Rep",
        CustomField7="true",
    )
    account.update_publisher(503, Email=email)
    synced = platform.reaches(503, "synced")
    application = platform.http.get(f"/apply/sessions/{synced['application_session']}").json()
    assert application["withhold_premium"] is True
    job = platform.http.get(f"/jobs/{synced['job']}").json()
    assert job["wage"] == 450_000  # no Base Pay: the campaign payment amount
    assert job["custom_metadata"]["purchase_order_number"] == "PO-7731"
    assert job["custom_metadata"]["po_contact_email"] == "rep@agency.example"


def test_an_insurance_exempt_creator_is_skipped(platform: Platform, account: Account) -> None:
    email = f"exempt{secrets.token_hex(4)}@example.com"
    ready_creator(account, 504, email, CustomField9="true")
    account.update_publisher(504, Email=email)
    skipped = platform.reaches(504, "skipped")
    assert "Insurance Exempt" in skipped["reasons"][0] and skipped["contractor"] is None


FAILURES: dict[str, tuple[Callable[[Account, int], None], Callable[[Account, int], None], str]] = {
    "campaign start date in the past": (
        lambda a, p: a.campaigns[CAMPAIGN].update(StartDate=_day(-3)),
        lambda a, p: a.campaigns[CAMPAIGN].update(StartDate=_day(10)),
        "start date is in the past",
    ),
    "non-US home state": (
        lambda a, p: a.publishers[p]["Address"].update(State="Ontario", Country="CA"),
        lambda a, p: a.publishers[p]["Address"].update(State="OR", Country="US"),
        "is not in the US (the blank Work State, CustomField8, defaults to it too)",
    ),
    "non-US work state": (
        lambda a, p: a.set_custom_fields(CAMPAIGN, p, CustomField8="Bavaria"),
        lambda a, p: a.set_custom_fields(CAMPAIGN, p, CustomField8="TX"),
        "Work State (CustomField8) 'Bavaria' is not a US state",
    ),
    "zero payment amount": (
        lambda a, p: a.set_payment(CAMPAIGN, p, 0),
        lambda a, p: a.set_payment(CAMPAIGN, p, 2500),
        "payment amount is missing or zero",
    ),
    "non-numeric Base Pay": (
        lambda a, p: a.set_custom_fields(CAMPAIGN, p, CustomField10="$4,500.00"),
        lambda a, p: a.set_custom_fields(CAMPAIGN, p, CustomField10="4500"),
        "not '$4,500.00'",
    ),
    "Accepted before the address was set": (
        lambda a, p: a.publishers[p]["Address"].update(AddressLine1=None, State=None),
        lambda a, p: a.publishers[p]["Address"].update(AddressLine1="5 Main St", State="CO"),
        "required fields are missing: home address, home state",
    ),
    "Agency Pay without the PO contact": (
        lambda a, p: a.set_custom_fields(CAMPAIGN, p, CustomField7="true"),
        lambda a, p: a.set_custom_fields(CAMPAIGN, p, CustomField4="po@agency.example", CustomField5="Po"),
        "PO contact email (CustomField4) and name (CustomField5) are required",
    ),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_each_troubleshooting_case_is_reported_and_a_fix_makes_the_next_sync_succeed(
    case: str,
    platform: Platform,
    account: Account,
    session_factory: sessionmaker[Session],
    org: Org,
    settings: Settings,
) -> None:
    break_it, fix_it, reason = FAILURES[case]
    publisher = 600 + list(FAILURES).index(case)
    email = f"case{publisher}{secrets.token_hex(3)}@example.com"
    ready_creator(account, publisher, email)
    break_it(account, publisher)
    account.update_publisher(publisher, Email=email)

    failed = platform.reaches(publisher, "failed")
    assert any(reason in r for r in failed["reasons"]), failed["reasons"]
    assert failed["contractor"] is None and failed["application_url"] is None
    with session_factory() as session:
        published = session.scalars(
            select(Event).where(Event.organization_id == org.id, Event.type == "creatoriq.sync_failed")
        ).all()
    assert [e.data["reasons"] for e in published if e.data["publisher_id"] == publisher] == [
        failed["reasons"]
    ]

    fix_it(account, publisher)
    account.update_publisher(publisher, City="Springfield")  # the next change in CreatorIQ syncs again
    synced = platform.reaches(publisher, "synced")
    assert synced["id"] == failed["id"] and synced["reasons"] == [] and synced["application_url"]
    if case == "non-numeric Base Pay":
        keep(settings, sync_id(org, publisher), "creatoriq_sync_fixed")


def test_the_webhook_refuses_a_bad_signature_and_unknown_connections(
    api_url: str, platform: Platform, account: Account
) -> None:
    connection = platform.http.get("/organization/creatoriq").json()
    envelope = account.envelope("Publisher", "update", 9, {"PublisherId": 9, "ChangedData": {}})
    forged = sign(envelope["payload"], envelope["timestamp"], "not-the-key")
    refused = httpx.post(connection["webhook_url"], json=envelope, headers=forged)
    assert refused.status_code == 401 and refused.json()["error_code"] == "invalid_signature"
    stale = sign(envelope["payload"], str(int(time.time()) - 3600), account.api_key)
    assert httpx.post(connection["webhook_url"], json=envelope, headers=stale).status_code == 401
    tampered = {**envelope, "payload": {"PublisherId": 10, "ChangedData": {}}}
    good_headers = sign(envelope["payload"], envelope["timestamp"], account.api_key)
    assert httpx.post(connection["webhook_url"], json=tampered, headers=good_headers).status_code == 401
    missing = httpx.post(
        f"{api_url}/integrations/creatoriq/webhooks/ciqc_nope", json=envelope, headers=good_headers
    )
    assert missing.status_code == 404 and missing.json()["error_code"] == "resource_missing"
    accepted = httpx.post(connection["webhook_url"], json=envelope, headers=good_headers)
    assert accepted.status_code == 200 and accepted.json()["sync"]
    again = httpx.post(connection["webhook_url"], json=envelope, headers=good_headers)
    assert again.json() == {**accepted.json(), "duplicate": True}


def test_the_api_key_is_checked_masked_and_never_returned(
    platform: Platform, creatoriq: FakeCreatorIQ
) -> None:
    unknown = platform.http.put("/organization/creatoriq", json={"api_key": "ciq_not_a_real_key_123"})
    assert unknown.status_code == 400 and unknown.json()["error_code"] == "invalid_creatoriq_api_key"
    assert platform.http.get("/organization/creatoriq").status_code == 404
    key = f"ciq_{secrets.token_hex(16)}"
    creatoriq.account(key)
    saved = platform.http.put("/organization/creatoriq", json={"api_key": key, "category_code": "nope"})
    assert saved.status_code == 400 and "category_code" in saved.json()["message"]
    saved = platform.http.put("/organization/creatoriq", json={"api_key": key})
    assert saved.status_code == 200
    shown = platform.http.get("/organization/creatoriq")
    assert key not in shown.text and shown.json()["api_key"] == f"…{key[-4:]}"
    assert shown.json()["coverage_type"] == ["general", "workers-comp"]
    assert platform.http.delete("/organization/creatoriq").json()["deleted"] is True
    assert platform.http.post("/creatoriq/syncs", json={}).status_code == 404


def test_the_schedule_syncs_organizations_without_webhooks(
    platform: Platform, creatoriq: FakeCreatorIQ, settings: Settings
) -> None:
    account = creatoriq.account(f"ciq_{secrets.token_hex(16)}")
    account.add_campaign(CAMPAIGN, "Fall drop", start=_day(5), end=_day(20))
    assert platform.http.put("/organization/creatoriq", json={"api_key": account.api_key}).status_code == 200
    email = f"polled{secrets.token_hex(4)}@example.com"
    ready_creator(account, 701, email)
    account.publishers[701]["Address"]["Email"] = email  # no subscription: nobody is told

    poll_id = f"creatoriq-poll-{secrets.token_hex(4)}"

    async def poll_as_scheduled() -> None:
        client = await temporal.connect(settings)
        await ensure_schedules(client, settings)
        schedule = await client.get_schedule_handle(CREATORIQ_SCHEDULE_ID).describe()
        action = schedule.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == CREATORIQ_POLL_WORKFLOW
        interval = schedule.schedule.spec.intervals[0].every
        assert interval == timedelta(seconds=settings.creatoriq_poll_seconds)
        # what the schedule starts every interval, started now
        await client.execute_workflow(
            CREATORIQ_POLL_WORKFLOW,
            id=poll_id,
            task_queue=settings.task_queue,
        )

    asyncio.run(poll_as_scheduled())
    synced = platform.reaches(701, "synced", timeout=60)
    assert synced["application_url"]
    assert platform.http.get("/organization/creatoriq").json()["last_polled_at"] is not None
    keep(settings, poll_id, "creatoriq_poll")
