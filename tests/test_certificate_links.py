"""Contractors upload their own certificate from the link a certificate request emails them: in Chromium on a
phone-sized screen, the page says plainly when a file is not a PDF or is too large, then that the
certificate was received, with its status. The link is a token (kept hashed) for one contractor only; it
expires and takes a few uploads; a form posted from elsewhere, or without the page's CSRF token, changes
nothing; another tenant cannot request a certificate from our contractor."""

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import Certificate, CertificateLink, InsuranceRequirement
from services.certificate_links import UPLOADS_PER_LINK
from tests import certificate_factory as factory
from tests.accessibility import assert_accessible
from tests.support import Org, SmtpSink, eventually, make_org
from tests.test_application_flow import csrf_token
from tests.test_certificate_uploads import GOOD, add_requirement, new_contractor, retrieve

pytestmark = pytest.mark.usefixtures("worker")


def _request(api_url: str, org: Org, contractor: str, key: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{api_url}/api/v1/contractors/{contractor}/certificate_requests",
        auth=(key or org.sandbox_key, ""),
        timeout=30,
    )


def _emailed_link(smtp_sink: SmtpSink, email_id: str) -> str:
    def arrived() -> list[Any]:
        return [m for m in smtp_sink.messages if m["Message-ID"] == f"<{email_id}@gigcover>"]  # type: ignore[index]

    text = str(eventually(arrived, 30)[0].get_body(("plain",)).get_content())
    found = re.search(r"http\S+/certificates/[A-Za-z0-9_-]+", text)
    assert found, text
    return found.group(0)


def _requested(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> tuple[str, str]:
    add_requirement(session_factory, org)
    contractor = new_contractor(api_url, org.sandbox_key)
    answer = _request(api_url, org, contractor)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["object"] == "certificate_request" and body["contractor"] == contractor
    return contractor, _emailed_link(smtp_sink, body["email"])


def _certificates(factory_: sessionmaker[Session], org: Org) -> int:
    with factory_() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Certificate).where(Certificate.organization_id == org.id)
            )
            or 0
        )


def test_a_contractor_uploads_their_certificate_from_a_phone(
    api_url: str,
    org: Org,
    browser: Browser,
    session_factory: sessionmaker[Session],
    smtp_sink: SmtpSink,
    tmp_path: Path,
) -> None:
    contractor, link = _requested(api_url, org, session_factory, smtp_sink)
    stored = httpx.get(
        f"{api_url}/api/v1/emails", params={"kind": "certificate_request"}, auth=(org.sandbox_key, "")
    )
    assert len(stored.json()) == 1 and link.rsplit("/", 1)[1] not in stored.text  # the copy kept has no link
    not_pdf, too_big, good = tmp_path / "photo.jpg", tmp_path / "huge.pdf", tmp_path / "certificate.pdf"
    not_pdf.write_bytes(b"\xff\xd8\xff\xe0 a photo")
    too_big.write_bytes(b"%PDF-1.7\n" + b"0" * (16 * 1024 * 1024))
    good.write_bytes(factory.flattened(GOOD))

    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    answer = page.goto(link)
    assert answer is not None and answer.status == 200
    headers = answer.headers
    assert "nonce-" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer" and headers["cache-control"] == "no-store"
    expect(page.get_by_role("heading", name="Upload your certificate of insurance")).to_be_visible()
    assert_accessible(page)
    chooser = page.get_by_label("Certificate of insurance")
    chooser.set_input_files(str(not_pdf))
    expect(page.get_by_role("alert")).to_have_text(re.compile("This file is not a PDF"))
    page.get_by_role("button", name="Upload certificate").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("This file is not a PDF"))
    chooser.set_input_files(str(too_big))
    expect(page.get_by_role("alert")).to_have_text(re.compile("larger than 15 MB"))
    assert _certificates(session_factory, org) == 0
    page.screenshot(path=tmp_path / "refused.png", full_page=True)
    assert_accessible(page)

    chooser.set_input_files(str(good))
    page.get_by_role("button", name="Upload certificate").click()
    expect(page.get_by_role("heading", name="We received your certificate")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Status:")
    assert_accessible(page)
    listed = httpx.get(
        f"{api_url}/api/v1/files/certificates", params={"contractor": contractor}, auth=(org.sandbox_key, "")
    ).json()
    assert len(listed) == 1 and listed[0]["filename"] == "certificate.pdf"
    done = eventually(
        lambda: retrieve(api_url, org.sandbox_key, listed[0]["id"])["status"] == "approved", timeout=120
    )
    assert done
    page.reload()
    expect(page.get_by_role("status")).to_contain_text("Approved")
    page.screenshot(path=tmp_path / "received.png", full_page=True)
    page.close()


def test_the_page_refuses_bad_files_forged_posts_and_spent_or_foreign_links(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    contractor, link = _requested(api_url, org, session_factory, smtp_sink)
    path = "/certificates/" + link.rsplit("/certificates/", 1)[1]
    pdf = factory.fillable(GOOD)
    with httpx.Client(base_url=api_url, timeout=60) as browser:
        token = csrf_token(browser, path)

        def post(
            name: str, data: bytes, kind: str = "application/pdf", csrf: str | None = None
        ) -> httpx.Response:
            return browser.post(
                path,
                data={"csrf_token": token if csrf is None else csrf},
                files={"certificate": (name, data, kind)},
            )

        refused = post("photo.jpg", b"\xff\xd8\xff\xe0")  # the page's own check bypassed
        assert refused.status_code == 303
        assert "This file is not a PDF" in browser.get(refused.headers["location"]).text
        assert "not a PDF" in browser.get(post("fake.pdf", b"GIF89a").headers["location"]).text
        forged = post("certificate.pdf", pdf, csrf="0" * 32)  # a form posted from another site
        assert (
            forged.status_code == 303
            and "was sent from somewhere else" in browser.get(forged.headers["location"]).text
        )
        huge = post("huge.pdf", b"%PDF-1.7\n" + b"0" * (40 * 1024 * 1024))
        assert huge.status_code == 413 and "15 MB" in huge.text and "<html" in huge.text.lower()
        assert _certificates(session_factory, org) == 0

        for n in range(UPLOADS_PER_LINK):
            assert post(f"c{n}.pdf", pdf + f"\n%{n}".encode()).status_code == 303
        assert _certificates(session_factory, org) == UPLOADS_PER_LINK
        spent = post("one-more.pdf", pdf + b"\n%more")
        assert "all the uploads it can" in browser.get(spent.headers["location"]).text
        assert _certificates(session_factory, org) == UPLOADS_PER_LINK

        assert browser.get(f"/certificates/{contractor}").status_code == 404  # the id opens nothing
        with session_factory() as session:
            links = session.scalars(
                select(CertificateLink).where(CertificateLink.contractor_id == contractor)
            ).all()
            assert links and all(path.rsplit("/", 1)[1] not in (row.token_hash,) for row in links)
            session.execute(
                update(CertificateLink)
                .where(CertificateLink.contractor_id == contractor)
                .values(expires_at=int(time.time()) - 1)
            )
            session.commit()
        expired = browser.get(path)
        assert expired.status_code == 410 and "expired" in expired.text

    other = make_org(session_factory, "Other Platform")
    assert _request(api_url, other, contractor).status_code == 404
    assert _request(api_url, org, contractor, org.production_key).status_code == 404


def test_a_link_of_an_organization_with_no_requirement_says_so_and_keeps_its_uploads(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    """The link works; what is missing is the organization's requirement: the contractor is told that (not
    that the link is broken, which the hosted-link throttle would count against them) and spends nothing."""
    contractor, link = _requested(api_url, org, session_factory, smtp_sink)
    with session_factory() as session:
        session.execute(
            update(InsuranceRequirement)
            .where(InsuranceRequirement.organization_id == org.id)
            .values(deleted_at=int(time.time()))
        )
        session.commit()
    path = "/certificates/" + link.rsplit("/certificates/", 1)[1]
    with httpx.Client(base_url=api_url, timeout=60) as browser:
        token = csrf_token(browser, path)
        answer = browser.post(
            path,
            data={"csrf_token": token},
            files={"certificate": ("certificate.pdf", factory.fillable(GOOD), "application/pdf")},
        )
        assert answer.status_code == 303, answer.text
        assert "has not set up its insurance requirements yet" in browser.get(answer.headers["location"]).text
    assert _certificates(session_factory, org) == 0
    with session_factory() as session:
        assert (
            session.scalar(select(CertificateLink.uploads).where(CertificateLink.contractor_id == contractor))
            == 0
        )
