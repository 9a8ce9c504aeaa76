"""The contractor portal (/my) against the real server, worker, SMTP sink and localstripe, and Chromium with a
phone's viewport: a contractor signs in with the link emailed to the address on file, downloads their
certificate, replaces their card, and the charge that waited for it goes through on the new card. And what
an attacker tries: a spent, expired or made-up link, someone else's certificate or card by id, probing
which addresses are on file, flooding the sign-in form, a form posted from elsewhere, and a session cookie
kept from before signing out."""

import asyncio
import re
import secrets
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from common.settings import Settings
from db.models import ApplicationSession, CardUpdate, PortalLink
from domain.errors import unavailable
from services.workflow_calls import WorkflowCalls
from tests.accessibility import assert_accessible
from tests.dashboard_support import readme_screenshot
from tests.histories import keep_history
from tests.support import (
    Org,
    SmtpSink,
    assignment_request,
    card,
    contractor_fields,
    entity_fields,
    eventually,
    free_port,
    job_fields,
    make_org,
    raw_stripe,
    serve,
    unique_email,
)
from tests.test_assignment_workflow import save_card
from tests.test_assignments_api import _sweep, _temporal

pytestmark = pytest.mark.usefixtures("worker")
INSUFFICIENT_FUNDS, GOOD = "4546381219393284", "4242424242424242"
PHONE = {"width": 390, "height": 844}
LINK = re.compile(r"http://\S+/my/link/[A-Za-z0-9_-]+")


@pytest.fixture(scope="module")
def portal(settings: Settings) -> Iterator[str]:
    """The API, with assignments charging one second after their reminder (to watch a charge fail), small
    sign-in limits, and the loopback proxy trusted (each test asks from addresses of its own)."""
    port = free_port()
    fast = settings.model_copy(
        update={
            "assignment_notice_seconds": 1,
            "public_base_url": f"http://127.0.0.1:{port}",
            "trusted_proxies": "127.0.0.1",
            "portal_links_per_address": 3,
            "portal_requests_per_client": 6,
            "portal_answer_seconds": 0.4,
        }
    )
    with serve(create_app(fast), port, fast) as url:
        yield url


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def _client_address() -> str:
    return f"198.51.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"


def _contractor(
    api: str, org: Org, settings: Settings, factory: sessionmaker[Session], localstripe: str, number: str
) -> dict[str, Any]:
    """A contractor with a policy (and its certificate), ``number`` as their card on file, and a card-paid
    assignment whose charge is made one second after its reminder."""
    email = unique_email("portal")
    with httpx.Client(base_url=f"{api}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields(email=email)).json()["id"]
        job = http.post("/jobs", json=job_fields(entity, name="Kitchen remodel")).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["workers-comp"]}
        ).json()
        policy = http.post("/policies", json={"quote": quote["id"]}).json()
        save_card(factory, settings, org, contractor, number, localstripe)
        assignment = http.post("/assignments", json=assignment_request(contractor, job, quote)).json()
    assert assignment["payer"] == "card", assignment
    return {"email": email, "contractor": contractor, "policy": policy["id"], "assignment": assignment}


def _mail(sink: SmtpSink, kind: str, to: str, count: int = 1) -> list[str]:
    def arrived() -> list[Any]:
        found = [m for m in sink.messages if m["X-Gigcover-Kind"] == kind and m["To"] == to]  # type: ignore[index]
        return found if len(found) >= count else []

    return [str(m.get_body(("plain",)).get_content()) for m in eventually(arrived, 30)]


def _sign_in_link(sink: SmtpSink, to: str, count: int = 1) -> str:
    text = _mail(sink, "portal_sign_in", to, count)[-1]
    found = LINK.search(text)
    assert found, text
    return found.group(0)


def _form_token(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def _ask(client: httpx.Client, email: str) -> httpx.Response:
    return client.post("/my/sign-in", data={"email": email, "csrf_token": _form_token(client, "/my/sign-in")})


def _signed_in(portal: str, sink: SmtpSink, email: str) -> httpx.Client:
    """An HTTP client signed in as ``email`` through the emailed link."""
    client = httpx.Client(base_url=portal, headers=_from(_client_address()), timeout=30)
    assert _ask(client, email).status_code == 200
    path = _sign_in_link(sink, email).split("/my/", 1)[1]
    used = client.post(f"/my/{path}", data={"csrf_token": _form_token(client, f"/my/{path}")})
    assert used.status_code == 303 and used.headers["location"] == "/my/home", used.text
    return client


def _status(api: str, org: Org, assignment_id: str) -> str:
    with httpx.Client(base_url=f"{api}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        return str(http.get(f"/assignments/{assignment_id}").json()["status"])


def _intents(localstripe: str, assignment_id: str) -> list[dict[str, Any]]:
    listed = raw_stripe(localstripe).v1.payment_intents.list(params={"limit": 100})  # type: ignore[attr-defined]
    return [
        pi.to_dict()
        for pi in listed.auto_paging_iter()
        if pi.to_dict().get("metadata", {}).get("assignment") == assignment_id
    ]


def test_a_contractor_signs_in_by_link_downloads_the_certificate_and_replaces_the_card(
    browser: Browser,
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    who = _contractor(portal, org, settings, session_factory, localstripe, INSUFFICIENT_FUNDS)
    failure = _mail(smtp_sink, "assignment_charge_failure", who["email"])[0]
    assert f"{settings.public_base_url}/my" in failure and "/cards/" not in failure  # the portal, only
    reminder = _mail(smtp_sink, "assignment_charge_reminder", who["email"])[0]
    assert f"{settings.public_base_url}/my" in reminder and "/cards/" not in reminder
    eventually(lambda: _status(portal, org, who["assignment"]["id"]) == "charge_failed")

    page = browser.new_page(viewport=PHONE, accept_downloads=True)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else None)
    page.goto(f"{portal}/my")
    expect(page.get_by_role("heading", name="Sign in to your insurance portal")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Your email address").fill(who["email"])
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert_accessible(page)

    page.goto(_sign_in_link(smtp_sink, who["email"]))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your insurance")).to_be_visible()
    expect(page.get_by_text("Payment failed: replace your card")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Test Platform.*Sandbox: test data"))).to_be_visible()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing off the side
    readme_screenshot(page, "portal-home")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download certificate of insurance for Kitchen remodel (PDF)").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")

    page.get_by_role("link", name=re.compile("Replace your card")).click()
    expect(page.get_by_role("heading", name="Replace your card")).to_be_visible()
    assert_accessible(page)
    form = page.locator("#card-element")
    form.get_by_label("Card number").fill(GOOD)
    form.get_by_label("Expiration date").fill("12 / 31")
    form.get_by_label("Security code").fill("123")
    form.get_by_label("ZIP code").fill("94105")
    page.get_by_role("button", name="Save card").click()
    expect(page.get_by_text("Your new card is saved.")).to_be_visible()
    assert_accessible(page)
    readme_screenshot(page, "portal-card")

    assignment = who["assignment"]
    eventually(lambda: _status(portal, org, assignment["id"]) == "active", 30)
    with session_factory() as session:
        on_file = session.scalars(
            select(ApplicationSession.payment_method_id).where(
                ApplicationSession.contractor_id == who["contractor"]
            )
        ).one()
    intents = _intents(localstripe, assignment["id"])
    paid = [pi for pi in intents if pi["status"] == "succeeded"]
    assert [(pi["amount"], pi["payment_method"]) for pi in paid] == [(assignment["premium"], on_file)]
    assert all(pi["payment_method"] != on_file for pi in intents if pi["status"] != "succeeded")

    page.goto(f"{portal}/my/home")
    expect(page.get_by_text(re.compile(r"Payment of \$"))).to_be_visible()  # what they paid
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{portal}/my/home")
    expect(page.get_by_role("heading", name="Sign in to your insurance portal")).to_be_visible()
    page.close()
    assert violations == []


def _token_of(link: str) -> str:
    return link.rsplit("/my/link/", 1)[1]


def test_a_link_signs_in_once_and_a_spent_expired_or_made_up_one_opens_nothing(
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    who = _contractor(portal, org, settings, session_factory, localstripe, GOOD)
    with httpx.Client(base_url=portal, headers=_from(_client_address()), timeout=30) as browser:
        assert _ask(browser, who["email"]).status_code == 200
        token = _token_of(_sign_in_link(smtp_sink, who["email"]))
        path = f"/my/link/{token}"
        for _ in range(2):  # an email scanner opening the link spends nothing
            assert browser.get(path).status_code == 200
        form = _form_token(browser, path)
        with ThreadPoolExecutor(4) as pool:  # two clicks (or four) at once: one signs in
            answers = list(pool.map(lambda _: browser.post(path, data={"csrf_token": form}), range(4)))
        signed = [a for a in answers if a.status_code == 303]
        assert len(signed) == 1, [a.status_code for a in answers]
        assert all(
            a.status_code == 410 and "gigcover_portal=" not in a.headers.get("set-cookie", "")
            for a in answers
            if a not in signed
        )
        again = browser.get(path)
        assert again.status_code == 410 and "does not work any more" in again.text

        assert _ask(browser, who["email"]).status_code == 200  # a second link, left to expire
        late = _token_of(_sign_in_link(smtp_sink, who["email"], 2))
        with session_factory() as session:
            session.execute(
                update(PortalLink)
                .where(PortalLink.used_at.is_(None))
                .where(PortalLink.email == who["email"].lower())
                .values(expires_at=int(time.time()) - 1)
            )
            session.commit()
        assert browser.get(f"/my/link/{late}").status_code == 410
        refused = browser.post(f"/my/link/{late}", data={"csrf_token": form})
        assert refused.status_code == 410 and "gigcover_portal=" not in refused.headers.get("set-cookie", "")

    with httpx.Client(base_url=portal, headers=_from(_client_address()), timeout=30) as stranger:
        made_up = secrets.token_urlsafe(32)
        assert stranger.get(f"/my/link/{made_up}").status_code == 404
        posted = stranger.post(
            f"/my/link/{made_up}", data={"csrf_token": _form_token(stranger, "/my/sign-in")}
        )
        assert posted.status_code in (303, 410) and "gigcover_portal=" not in posted.headers.get(
            "set-cookie", ""
        )
        home = stranger.get("/my/home")
        assert home.status_code == 303 and home.headers["location"] == "/my/sign-in"
    with session_factory() as session:  # only the hash of a token is kept
        assert session.scalar(select(PortalLink).where(PortalLink.token_hash == token)) is None


@pytest.fixture(scope="module")
def two_hour_links(settings: Settings) -> Iterator[str]:
    """The API with sign-in links that work for two hours rather than the default 15 minutes."""
    port = free_port()
    changed = settings.model_copy(
        update={
            "public_base_url": f"http://127.0.0.1:{port}",
            "trusted_proxies": "127.0.0.1",
            "portal_link_lifetime_seconds": 7200,
        }
    )
    with serve(create_app(changed), port, changed) as url:
        yield url


def test_the_pages_say_the_link_lifetime_this_deployment_gives(
    two_hour_links: str, org: Org, smtp_sink: SmtpSink
) -> None:
    """Links last as long as GIGCOVER_PORTAL_LINK_LIFETIME_SECONDS says: the page after asking and the page
    of a spent link say that (two hours here), not a fixed 15 minutes."""
    email = unique_email("lifetime")
    with httpx.Client(base_url=f"{two_hour_links}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        assert http.post("/contractors", json=contractor_fields(email=email)).status_code in (200, 201)
    with httpx.Client(base_url=two_hour_links, headers=_from(_client_address()), timeout=30) as browser:
        sent = _ask(browser, email)
        assert sent.status_code == 200 and "It works once, for 2 hours." in sent.text, sent.text
        path = f"/my/link/{_token_of(_sign_in_link(smtp_sink, email))}"
        form = _form_token(browser, path)
        assert browser.post(path, data={"csrf_token": form}).status_code == 303
        for spent in (browser.get(path), browser.post(path, data={"csrf_token": form})):
            assert spent.status_code == 410
            assert "Sign-in links work once, for 2 hours." in spent.text, spent.text
            assert "15 minutes" not in spent.text


def test_a_contractor_gets_only_their_own_certificate_and_card(
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    victim = _contractor(portal, org, settings, session_factory, localstripe, GOOD)
    attacker = _contractor(portal, org, settings, session_factory, localstripe, GOOD)
    with closing(_signed_in(portal, smtp_sink, attacker["email"])) as browser:
        mine = browser.get(f"/my/certificates/{attacker['policy']}")
        assert mine.status_code == 200 and mine.content.startswith(b"%PDF")
        theirs = browser.get(f"/my/certificates/{victim['policy']}")
        assert theirs.status_code == 404 and not theirs.content.startswith(b"%PDF")
        home = browser.get("/my/home").text
        assert (
            victim["policy"] not in home and victim["contractor"] not in home and victim["email"] not in home
        )
        assert browser.get(f"/my/card/{victim['contractor']}").status_code == 404
        form = _form_token(browser, f"/my/card/{attacker['contractor']}")
        setup = browser.post(f"/my/card/{victim['contractor']}/setup", data={"csrf_token": form})
        assert setup.status_code == 404 and "seti_" not in setup.text
        replaced = browser.post(
            f"/my/card/{victim['contractor']}",
            data={"csrf_token": form, "payment_method_id": card(localstripe, GOOD)},
        )
        assert replaced.status_code == 404
    with session_factory() as session:
        kept = session.scalars(
            select(ApplicationSession.payment_method_id).where(
                ApplicationSession.contractor_id == victim["contractor"]
            )
        ).one()
    assert kept is not None
    with httpx.Client(base_url=portal, headers=_from(_client_address()), timeout=30) as anonymous:
        assert anonymous.get(f"/my/certificates/{victim['policy']}").status_code == 303


def test_an_address_not_on_file_gets_the_same_answer_at_the_same_pace_and_no_email(
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    who = _contractor(portal, org, settings, session_factory, localstripe, GOOD)
    unknown = unique_email("nobody")
    answers: dict[str, list[tuple[int, str, float]]] = {who["email"]: [], unknown: []}
    for _ in range(2):
        for address in answers:
            with httpx.Client(base_url=portal, headers=_from(_client_address()), timeout=30) as browser:
                token = _form_token(browser, "/my/sign-in")
                started = time.monotonic()
                answer = browser.post("/my/sign-in", data={"email": address, "csrf_token": token})
                took = time.monotonic() - started
                shown = answer.text.replace(address, "ADDRESS")
                shown = re.sub(r'name="csrf_token" value="[^"]+"', "", shown)
                answers[address].append((answer.status_code, shown, took))
    known, nobody = answers[who["email"]], answers[unknown]
    assert {(s, t) for s, t, _ in known} == {(s, t) for s, t, _ in nobody}  # one answer, word for word
    assert known[0][0] == 200 and "Check your email" in known[0][1]
    times = [took for *_, took in known + nobody]
    assert min(times) >= 0.4  # every answer waits out the same floor ...
    assert abs(statistics.median(t for *_, t in known) - statistics.median(t for *_, t in nobody)) < 0.15
    _sign_in_link(smtp_sink, who["email"], 2)  # ... while the address on file got its links
    time.sleep(1)
    assert not [m for m in smtp_sink.messages if m["To"] == unknown]  # type: ignore[index]


def test_asking_for_links_is_limited_per_address_and_per_client(
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    who = _contractor(portal, org, settings, session_factory, localstripe, GOOD)
    statuses = []
    for _ in range(5):  # from five clients: the address gets three links an hour
        with httpx.Client(base_url=portal, headers=_from(_client_address()), timeout=30) as browser:
            statuses.append(_ask(browser, who["email"]).status_code)
    assert statuses == [200, 200, 200, 429, 429]
    _sign_in_link(smtp_sink, who["email"], 3)
    time.sleep(1)
    assert (
        len(
            [
                m
                for m in smtp_sink.messages
                if m["To"] == who["email"] and m["X-Gigcover-Kind"] == "portal_sign_in"
            ]
        )
        == 3
    )  # type: ignore[index]

    with httpx.Client(base_url=portal, headers=_from(_client_address()), timeout=30) as flooder:
        flood = [_ask(flooder, unique_email("spray")) for _ in range(8)]  # six an hour per client
    assert [answer.status_code for answer in flood] == [200] * 6 + [429] * 2
    assert "Too many sign-in links were asked for" in flood[-1].text


def test_forms_need_their_token_and_a_cookie_from_before_sign_out_opens_nothing(
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    who = _contractor(portal, org, settings, session_factory, localstripe, GOOD)
    with httpx.Client(base_url=portal, headers=_from(_client_address()), timeout=30) as browser:
        asked = browser.post("/my/sign-in", data={"email": who["email"]})  # no token: another site's form
        assert asked.status_code == 303 and "error=" in asked.headers["location"]
        assert _ask(browser, who["email"]).status_code == 200
        path = "/my/link/" + _token_of(_sign_in_link(smtp_sink, who["email"]))  # only the one with its token
        forged = browser.post(path, data={"csrf_token": "x" * 32})
        assert forged.status_code == 303 and "gigcover_portal=" not in forged.headers.get("set-cookie", "")
        used = browser.post(path, data={"csrf_token": _form_token(browser, path)})  # the link still works
        assert used.status_code == 303 and used.headers["location"] == "/my/home"
        assert "HttpOnly" in used.headers["set-cookie"] and "SameSite=Lax" in used.headers["set-cookie"]
        assert "Your insurance" in browser.get("/my/home").text
        cookie = browser.cookies.get("gigcover_portal")
        assert cookie

        no_token = browser.post("/my/home/sign-out", data={})
        assert no_token.status_code == 303 and "error=" in no_token.headers["location"]
        assert "Signed in as" in browser.get("/my/home").text  # still signed in
        card_form = browser.post(
            f"/my/card/{who['contractor']}", data={"payment_method_id": card(localstripe, GOOD)}
        )
        assert card_form.status_code == 303 and "error=" in card_form.headers["location"]

        signed_out = browser.post("/my/home/sign-out", data={"csrf_token": _form_token(browser, "/my/home")})
        assert signed_out.status_code == 200 and "signed out" in signed_out.text
    with httpx.Client(base_url=portal, headers=_from(_client_address()), timeout=30) as replay:
        replay.cookies.set("gigcover_portal", cookie, path="/my")
        home = replay.get("/my/home")
        assert home.status_code == 303 and home.headers["location"] == "/my/sign-in"
        assert replay.get(f"/my/certificates/{who['policy']}").status_code == 303


def test_the_card_page_refuses_a_card_id_stripe_does_not_know_with_a_message_then_takes_a_real_one(
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    who = _contractor(portal, org, settings, session_factory, localstripe, INSUFFICIENT_FUNDS)
    eventually(lambda: _status(portal, org, who["assignment"]["id"]) == "charge_failed", 30)
    path = f"/my/card/{who['contractor']}"
    with closing(_signed_in(portal, smtp_sink, who["email"])) as browser:
        token = _form_token(browser, path)
        started = time.monotonic()
        bogus = browser.post(path, data={"payment_method_id": "pm_does_not_exist", "csrf_token": token})
        assert time.monotonic() - started < 10
        assert bogus.status_code == 303, bogus.text
        shown = browser.get(bogus.headers["location"])
        assert shown.status_code == 200 and 'role="alert">We could not use this card.' in shown.text
        forged = browser.get(f"{path}?error=Send+your+card+number+to+evil.example&sig=0")
        assert "evil.example" not in forged.text  # only a message we signed is shown
        real = browser.post(path, data={"payment_method_id": card(localstripe, GOOD), "csrf_token": token})
        assert real.status_code == 303 and real.headers["location"].endswith("?saved=true")
        assert "Your new card is saved." in browser.get(real.headers["location"]).text
    eventually(lambda: _status(portal, org, who["assignment"]["id"]) == "active", 30)


def test_every_organization_that_covers_the_address_is_shown_the_sandbox_apart(
    portal: str, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    email = unique_email("two.platforms")
    live, trying = make_org(session_factory, "Live Platform"), make_org(session_factory, "Trying Platform")
    for key, address in ((live.production_key, email.upper()), (trying.sandbox_key, email)):
        with httpx.Client(base_url=f"{portal}/api/v1", auth=(key, ""), timeout=30) as http:
            made = http.post("/contractors", json=contractor_fields(email=address))
            assert made.status_code in (200, 201), made.text
    with httpx.Client(base_url=f"{portal}/api/v1", auth=(live.production_key, ""), timeout=30) as http:
        http.post("/contractors", json=contractor_fields(email=unique_email("someone.else")))
    with closing(_signed_in(portal, smtp_sink, email)) as browser:
        home = browser.get("/my/home").text
    assert home.index("Live Platform") < home.index("Trying Platform")  # live first
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", home, re.S)
    assert [h.split("<")[0].strip() for h in headings] == ["Live Platform", "Trying Platform"]
    assert "Sandbox" not in headings[0] and "Sandbox: test data" in headings[1]


def test_an_upcoming_charge_shows_its_date_and_amount(
    api_url: str,
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    who = _contractor(api_url, org, settings, session_factory, localstripe, GOOD)  # charged in 24 hours
    reminder = _mail(smtp_sink, "assignment_charge_reminder", who["email"])[0]
    assert f"{settings.public_base_url}/my" in reminder
    premium = f"${who['assignment']['premium'] / 100:,.2f}"
    with closing(_signed_in(portal, smtp_sink, who["email"])) as browser:
        home = browser.get("/my/home").text
    due = re.search(r"<h3>Upcoming charges</h3>\s*<ul class=\"items\">\s*<li>([^<]+)</li>", home)
    assert due, home
    assert due.group(1).startswith(f"{premium} on ") and due.group(1).endswith("for Kitchen remodel")
    assert "Being set up" in home


# What the review found -------------------------------------------------------------------------------------

ALWAYS_ASKS = "4000002760003184"  # the bank asks to confirm every payment, off-session ones included


def _without_a_card(factory: sessionmaker[Session], contractor_id: str) -> None:
    """The record as an application that finished without a card step leaves it (the organization withheld
    the premium then): no Stripe customer, no card on file."""
    with factory() as session:
        session.execute(
            update(ApplicationSession)
            .where(ApplicationSession.contractor_id == contractor_id)
            .values(stripe_customer_id=None, payment_method_id=None, card_summary=None)
        )
        session.commit()


def _another_assignment(api: str, org: Org, contractor: str, first: dict[str, Any]) -> str:
    """A second card-paid assignment for the contractor, on a job of its own, over the first one's period
    (its policy is reused)."""
    with httpx.Client(base_url=f"{api}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        job = http.post("/jobs", json=job_fields(entity, name="Bathroom tiling")).json()["id"]
        made = http.post("/assignments", json=assignment_request(contractor, job, first)).json()
    assert made["payer"] == "card", made
    return str(made["id"])


def test_a_contractor_with_no_card_on_file_adds_one_and_the_waiting_charge_is_made(
    browser: Browser,
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    who = _contractor(portal, org, settings, session_factory, localstripe, INSUFFICIENT_FUNDS)
    assignment = who["assignment"]
    eventually(lambda: _status(portal, org, assignment["id"]) == "charge_failed", 30)
    _without_a_card(session_factory, who["contractor"])

    page = browser.new_page(viewport=PHONE)
    page.goto(f"{portal}/my")
    page.get_by_label("Your email address").fill(who["email"])
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(_sign_in_link(smtp_sink, who["email"]))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("No card on file.")).to_be_visible()
    page.get_by_role("link", name="Add a card for Test Platform").click()
    expect(page.get_by_role("heading", name="Add a card")).to_be_visible()
    assert_accessible(page)
    form = page.locator("#card-element")
    form.get_by_label("Card number").fill(GOOD)
    form.get_by_label("Expiration date").fill("12 / 31")
    form.get_by_label("Security code").fill("123")
    form.get_by_label("ZIP code").fill("94105")
    page.get_by_role("button", name="Save card").click()
    expect(page.get_by_text("Your new card is saved.")).to_be_visible()
    page.close()

    eventually(lambda: _status(portal, org, assignment["id"]) == "active", 30)
    with session_factory() as session:
        customer, on_file = session.execute(
            select(ApplicationSession.stripe_customer_id, ApplicationSession.payment_method_id).where(
                ApplicationSession.contractor_id == who["contractor"]
            )
        ).one()
    assert customer and on_file
    paid = [pi for pi in _intents(localstripe, assignment["id"]) if pi["status"] == "succeeded"]
    assert [(pi["amount"], pi["payment_method"], pi["customer"]) for pi in paid] == [
        (assignment["premium"], on_file, customer)
    ]


def _age_card_updates(factory: sessionmaker[Session]) -> None:
    """Moves the card updates 10 minutes into the past (the sweep leaves fresh ones to their request)."""
    with factory() as session:
        session.execute(update(CardUpdate).values(created=CardUpdate.created - 600))
        session.commit()


def test_a_new_card_reaches_every_waiting_assignment_though_temporal_fails_to_hear_one(
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
    temporal_address: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    who = _contractor(portal, org, settings, session_factory, localstripe, INSUFFICIENT_FUNDS)
    ids = [who["assignment"]["id"], _another_assignment(portal, org, who["contractor"], who["assignment"])]
    eventually(lambda: all(_status(portal, org, i) == "charge_failed" for i in ids), 30)

    told: list[str] = []
    signal = WorkflowCalls.signal

    def down_once(self: WorkflowCalls, workflow_id: str, name: Any, arg: Any) -> None:
        told.append(workflow_id.removeprefix("assignment-"))
        if len(told) == 1:
            raise unavailable("The application service did not answer in time; try again")
        signal(self, workflow_id, name, arg)

    with monkeypatch.context() as patch, closing(_signed_in(portal, smtp_sink, who["email"])) as browser:
        patch.setattr("services.workflow_calls.WorkflowCalls.signal", down_once)
        path = f"/my/card/{who['contractor']}"
        sent = browser.post(
            path,
            data={"csrf_token": _form_token(browser, path), "payment_method_id": card(localstripe, GOOD)},
        )
        assert sent.status_code == 303 and sent.headers["location"].endswith("?saved=true"), sent.headers
    assert sorted(told) == sorted(ids)
    missed, heard = told
    eventually(lambda: _status(portal, org, heard) == "active", 30)
    assert _status(portal, org, missed) == "charge_failed"

    _age_card_updates(session_factory)
    with ThreadPoolExecutor(1) as thread:  # off Playwright's event loop, as the schedule runs it
        thread.submit(_sweep, temporal_address, settings).result()
    eventually(lambda: _status(portal, org, missed) == "active", 30)
    with session_factory() as session:
        unsent = session.scalars(select(CardUpdate).where(CardUpdate.dispatched.is_(False))).all()
    assert unsent == []


def test_the_sign_in_email_carries_no_name_a_platform_chose(
    portal: str, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    bait = make_org(session_factory, "Acme Bank Security Team")
    email = unique_email("target")
    with httpx.Client(base_url=f"{portal}/api/v1", auth=(bait.sandbox_key, ""), timeout=30) as http:
        made = http.post("/contractors", json=contractor_fields(email=email))
        assert made.status_code in (200, 201), made.text
    with httpx.Client(base_url=portal, headers=_from(_client_address()), timeout=30) as client:
        assert _ask(client, email).status_code == 200
    text = _mail(smtp_sink, "portal_sign_in", email)[0]
    message = next(m for m in smtp_sink.messages if m["To"] == email)
    html = str(message.get_body(("html",)).get_content())
    for shown in (text, html, str(message["Subject"]), str(message["From"])):
        assert "Acme" not in shown, shown
    assert "/my/link/" in text


def test_a_new_card_while_a_charge_awaits_the_bank_pays_it_once_and_closes_the_waiting_one(
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
    temporal_address: str,
) -> None:
    """The bank asks the contractor to confirm the charge, and they save another card in the portal instead
    (their bank will not confirm): the waiting PaymentIntent is cancelled first, then the new card is charged,
    once; the two never both move."""
    who = _contractor(portal, org, settings, session_factory, localstripe, ALWAYS_ASKS)
    assignment = who["assignment"]["id"]
    _mail(smtp_sink, "assignment_payment_authentication", who["email"])  # the link to confirm it
    waiting = [pi["id"] for pi in _intents(localstripe, assignment)]
    assert len(waiting) == 1
    path = f"/my/card/{who['contractor']}"
    with closing(_signed_in(portal, smtp_sink, who["email"])) as browser:
        shown = browser.get(path).text
        assert "waits for you to confirm it with your bank" in shown, shown
        assert "save another card here: we cancel that payment and charge the new card instead" in shown
        home = browser.get("/my/home").text  # the home page says the same, not only "replace your card"
        assert "use the link in our email, or replace your card" in home, home
        sent = browser.post(
            path,
            data={"csrf_token": _form_token(browser, path), "payment_method_id": card(localstripe, GOOD)},
        )
        assert sent.status_code == 303 and sent.headers["location"].endswith("?saved=true"), sent.headers
    premium = who["assignment"]["premium"]
    eventually(lambda: _status(portal, org, assignment) == "active", 30)
    intents = {pi["id"]: (pi["status"], pi["amount"]) for pi in _intents(localstripe, assignment)}
    assert intents.pop(waiting[0]) == ("canceled", premium)  # closed first: it can no longer move
    assert list(intents.values()) == [("succeeded", premium)]  # the new card, once

    async def record() -> None:
        handle = (await _temporal(temporal_address)).get_workflow_handle(f"assignment-{assignment}")
        await handle.terminate("test over")
        await keep_history(handle, "assignment_new_card_supersedes_waiting_charge")

    with ThreadPoolExecutor(1) as thread:  # off Playwright's event loop
        thread.submit(asyncio.run, record()).result()


def test_a_card_of_another_customer_is_refused(
    portal: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    who = _contractor(portal, org, settings, session_factory, localstripe, GOOD)
    stripe = raw_stripe(localstripe)
    someone = stripe.v1.customers.create(params={"email": "someone.else@example.com"})  # type: ignore[attr-defined]
    theirs = card(localstripe, GOOD)
    stripe.v1.payment_methods.attach(theirs, params={"customer": someone.id})  # type: ignore[attr-defined]
    path = f"/my/card/{who['contractor']}"
    with session_factory() as session:
        before = session.scalars(
            select(ApplicationSession.payment_method_id).where(
                ApplicationSession.contractor_id == who["contractor"]
            )
        ).one()
    with closing(_signed_in(portal, smtp_sink, who["email"])) as browser:
        sent = browser.post(
            path, data={"csrf_token": _form_token(browser, path), "payment_method_id": theirs}
        )
        assert sent.status_code == 303 and "error=" in sent.headers["location"], sent.headers
        assert 'role="alert">We could not use this card.' in browser.get(sent.headers["location"]).text
    with session_factory() as session:
        after = session.scalars(
            select(ApplicationSession.payment_method_id).where(
                ApplicationSession.contractor_id == who["contractor"]
            )
        ).one()
    assert after == before != theirs
