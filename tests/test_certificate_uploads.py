"""Certificates of insurance uploaded as a platform uploads them with the official client (multipart, as
``ten99policy``'s requestor builds it), reviewed by the real worker: each of the suite's own ACORD 25s, in
its three forms, comes out with the right status and failed rules; bad files are refused or end in
``error`` with the reason and change nothing else; another tenant sees and uploads nothing of ours; the same
file twice is one review."""

import io
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import ten99policy.six  # noqa: F401  (the generator reaches it as ten99policy.six; the package does not import it)
from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from ten99policy import error as client_errors
from ten99policy.api_requestor import APIRequestor
from ten99policy.multipart_data_generator import MultipartDataGenerator

from db.models import Certificate, Document, Event, InsuranceRequirement, Scope
from documents.certificate import CertificateOfInsurance, render_certificates
from documents.certificate import Party as CoiParty
from domain.certificates import (
    CoverageKind,
    CoverageRequirement,
    ExpiryRule,
    LimitKind,
    RequirementRules,
)
from domain.coverage import CoverageType
from tests import certificate_factory as factory
from tests.support import (
    Org,
    WebhookReceiver,
    assignment_request,
    contractor_fields,
    entity_fields,
    eventually,
    job_fields,
    make_org,
    unique_email,
)

pytestmark = pytest.mark.usefixtures("worker")

TODAY = datetime.now(UTC).date()
GOOD = factory.dated(TODAY - timedelta(days=30))  # in force for another 275 days
RULES = RequirementRules(
    coverages=(
        CoverageRequirement(
            CoverageKind.GENERAL_LIABILITY,
            {LimitKind.EACH_OCCURRENCE: 1_000_000, LimitKind.GENERAL_AGGREGATE: 2_000_000},
            additional_insured=True,
        ),
        CoverageRequirement(CoverageKind.WORKERS_COMP),
    ),
    expiry=ExpiryRule.IN_FORCE_TODAY,
    certificate_holder="Acme Brands, Inc.",
)


def add_requirement(
    factory_: sessionmaker[Session], org: Org, environment: str = "sandbox", rules: RequirementRules = RULES
) -> str:
    with factory_() as session:
        row = InsuranceRequirement.new(
            Scope(org.id, environment),
            name="Standard vendor requirement",
            is_default=True,
            rules=TypeAdapter(RequirementRules).dump_python(rules, mode="json"),
            entity_ids=[],
            category_codes=[],
        )
        session.add(row)
        session.commit()
        return row.id


def new_contractor(api_url: str, key: str) -> str:
    answer = httpx.post(
        f"{api_url}/api/v1/contractors", json=contractor_fields(unique_email()), auth=(key, ""), timeout=30
    )
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def upload(
    api_url: str,
    key: str,
    contractor: str | None,
    data: bytes | None,
    filename: str = "certificate.pdf",
    **extra: str,
) -> dict[str, Any]:
    """As the official client sends multipart: its own body builder (every file part as
    application/octet-stream, named by the file object's ``name``), and its own mapping of our answer's
    ``error_code`` to its exception classes. (Its ``request()`` JSON-encodes the parameters before it looks
    at the content type, so a file object cannot go through it; this is the rest of its path.)"""
    params: dict[str, Any] = {**extra}
    if contractor is not None:
        params["contractor"] = contractor
    if data is not None:
        file = io.BytesIO(data)
        file.name = filename
        params["certificate"] = file
    generator = MultipartDataGenerator()
    generator.add_params(params)
    requestor = APIRequestor(key=key, api_base=api_url)
    headers = {
        **requestor.request_headers(key, "post"),
        "Content-Type": f"multipart/form-data; boundary={generator.boundary}",
    }
    answer = httpx.post(
        f"{api_url}/api/v1/files/certificates", content=generator.get_post_data(), headers=headers, timeout=60
    )
    return dict(requestor.interpret_response(answer.content, answer.status_code, answer.headers).data)


def retrieve(api_url: str, key: str, certificate_id: str, *expand: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{api_url}/api/v1/files/certificates/{certificate_id}",
        params=[("expand[]", e) for e in expand],
        auth=(key, ""),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def reviewed(api_url: str, key: str, certificate_id: str) -> dict[str, Any]:
    return eventually(
        lambda: (
            (found := retrieve(api_url, key, certificate_id, "review_results.full"))["status"]
            not in ("pending", "processing")
            and found
        ),
        timeout=120,
    )


def failed_rules(certificate: dict[str, Any]) -> set[str]:
    return {r["rule"] for r in certificate["review_results"]["results"] if not r["passed"]}


@pytest.fixture
def tenant(api_url: str, org: Org, session_factory: sessionmaker[Session]) -> tuple[Org, str]:
    add_requirement(session_factory, org)
    return org, new_contractor(api_url, org.sandbox_key)


def test_an_upload_answers_1099policys_object_and_a_good_certificate_is_approved(
    api_url: str,
    tenant: tuple[Org, str],
    session_factory: sessionmaker[Session],
    receiver: tuple[WebhookReceiver, str],
) -> None:
    org, contractor = tenant
    hook, hook_url = receiver
    subscribed = httpx.post(
        f"{api_url}/api/v1/webhook_endpoints",
        json={
            "url": hook_url,
            "events": ["certificate.approved", "certificate.flagged", "certificate.error"],
        },
        auth=(org.sandbox_key, ""),
        timeout=30,
    )
    assert subscribed.status_code == 201, subscribed.text
    created = upload(api_url, org.sandbox_key, contractor, factory.fillable(GOOD), "acord25.pdf")
    assert created["id"].startswith("ci_") and created["object"] == "certificate"
    assert created["contractor"] == contractor and created["status"] == "pending"
    assert created["filename"] == "acord25.pdf" and created["review_results"] is None
    pdf = httpx.get(created["pdf_url"], timeout=30)
    assert pdf.status_code == 200 and pdf.content == factory.fillable(GOOD)

    done = reviewed(api_url, org.sandbox_key, created["id"])
    assert done["status"] == "approved", failed_rules(done)
    summary = retrieve(api_url, org.sandbox_key, created["id"], "review_results")["review_results"]
    assert summary["failed"] == 0 and summary["passed"] == summary["rules"] > 5
    assert "results" not in summary
    full = done["review_results"]
    assert full["certificate"]["insured"]["name"]["value"] == "Marisol Vega Studio LLC"
    occurrence = next(r for r in full["results"] if r["rule"] == "general_liability.each_occurrence")
    assert occurrence["required"] and "1,000,000" in occurrence["found"] and occurrence["where"]
    with session_factory() as session:
        types = list(session.scalars(select(Event.type).where(Event.organization_id == org.id)))
    assert "certificate.approved" in types
    listed = httpx.get(
        f"{api_url}/api/v1/files/certificates",
        params={"contractor": contractor, "status": "approved"},
        auth=(org.sandbox_key, ""),
        timeout=30,
    ).json()
    assert [c["id"] for c in listed] == [created["id"]]
    [(_headers, body)] = hook.wait_for(1)
    delivered = json.loads(body)
    assert delivered["type"] == "certificate.approved" and delivered["data"]["id"] == created["id"]
    assert delivered["data"]["object"] == "certificate" and delivered["data"]["review_results"]["failed"] == 0


DEFECTS = {
    "expired": (factory.expired(GOOD, days_ago=40), {"general_liability.expiry", "workers_comp.expiry"}),
    "low limits": (
        factory.low_limits(GOOD),
        {"general_liability.each_occurrence", "general_liability.general_aggregate"},
    ),
    "no workers comp": (factory.without_workers_comp(GOOD), {"workers_comp.present"}),
    "wrong holder": (factory.wrong_holder(GOOD), {"certificate_holder"}),
    "no additional insured": (
        factory.without_additional_insured(GOOD),
        {"general_liability.additional_insured"},
    ),
    "forged NAIC": (factory.forged_naic(GOOD), {"forgery.naic.A"}),
}
FORMS = {"fillable": factory.fillable, "flattened": factory.flattened, "scanned": factory.scanned}


@pytest.mark.one_database
@pytest.mark.parametrize("form", FORMS)
def test_each_form_with_each_defect_is_flagged_for_that_rule(
    api_url: str, tenant: tuple[Org, str], form: str
) -> None:
    org, contractor = tenant
    render = FORMS[form]
    ids = {
        name: upload(api_url, org.sandbox_key, contractor, render(spec))["id"]
        for name, (spec, _) in DEFECTS.items()
    }
    for name, (_spec, expected) in DEFECTS.items():
        done = reviewed(api_url, org.sandbox_key, ids[name])
        assert done["status"] == "flagged", (form, name)
        assert expected <= failed_rules(done), (form, name, failed_rules(done))
    good = reviewed(
        api_url, org.sandbox_key, upload(api_url, org.sandbox_key, contractor, render(GOOD))["id"]
    )
    assert good["status"] == "approved", (form, failed_rules(good))


def test_gigcovers_own_certificate_passes_the_same_review(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    """A certificate gigcover issues for a policy it binds (documents/certificate.py), brought elsewhere."""
    general_liability = RULES.coverages[0]
    add_requirement(
        session_factory,
        org,
        rules=replace(RULES, coverages=(replace(general_liability, additional_insured=False),)),
    )
    contractor = new_contractor(api_url, org.sandbox_key)
    now = int(time.time())
    ours = render_certificates(
        [
            CertificateOfInsurance(
                certificate_number=f"pl_Ab12Cd34Ef-GL-{now}",
                policy_id="pl_Ab12Cd34Ef",
                coverage=CoverageType.GENERAL,
                insured=CoiParty("Jane Doe", ("123 Main St", "San Francisco, CA 94102")),
                holder=CoiParty("Acme Brands Inc", ("500 Market St", "San Francisco, CA 94105")),
                effective_date=now - 30 * 86_400,
                expiration_date=now + 335 * 86_400,
                job_category="Influencer",
                description_of_operations="Spring campaign: social media content",
                work_state="CA",
                occurrence_limit=100_000_000,  # cents: $1M, as gigcover binds by default
                aggregate_limit=200_000_000,
                issued_at=now,
                sandbox=False,
            )
        ]
    )
    done = reviewed(
        api_url, org.sandbox_key, upload(api_url, org.sandbox_key, contractor, ours, "coi.pdf")["id"]
    )
    assert done["status"] == "approved", failed_rules(done)
    assert done["review_results"]["certificate"]["form"] == "gigcover"


def _counts(factory_: sessionmaker[Session], org: Org) -> tuple[int, int, int]:
    with factory_() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Certificate).where(Certificate.organization_id == org.id)
            )
            or 0,
            session.scalar(
                select(func.count()).select_from(Document).where(Document.organization_id == org.id)
            )
            or 0,
            session.scalar(select(func.count()).select_from(Event).where(Event.organization_id == org.id))
            or 0,
        )


def test_bad_uploads_are_refused_with_1099policys_codes_and_change_nothing(
    api_url: str, tenant: tuple[Org, str], session_factory: sessionmaker[Session]
) -> None:
    org, contractor = tenant
    pdf = factory.fillable(GOOD)
    before = _counts(session_factory, org)
    key = org.sandbox_key
    with pytest.raises(client_errors.InvalidFileTypeError):
        upload(api_url, key, contractor, b"PK\x03\x04 not a pdf", "certificate.zip")
    with pytest.raises(client_errors.InvalidFileTypeError):
        upload(api_url, key, contractor, b"GIF89a pretending", "certificate.pdf")  # no %PDF magic
    with pytest.raises(client_errors.MissingCertificateError):
        upload(api_url, key, contractor, None)
    with pytest.raises(client_errors.MissingContractorIdError):
        upload(api_url, key, None, pdf)
    with pytest.raises(client_errors.ResourceNotFoundError):
        upload(api_url, key, "cn_doesnotexist", pdf)
    with pytest.raises(client_errors.InvalidFileSizeError):
        upload(api_url, key, contractor, pdf + b"\n%" + b"0" * (15 * 1024 * 1024), "big.pdf")
    # the declared type: a PDF sent as an image
    files = {"certificate": ("certificate.pdf", pdf, "image/png")}
    refused = httpx.post(
        f"{api_url}/api/v1/files/certificates",
        data={"contractor": contractor},
        files=files,
        auth=(key, ""),
        timeout=30,
    )
    assert refused.status_code == 400 and refused.json()["error_code"] == "invalid_mime_type"
    requestor = APIRequestor(key=key, api_base=api_url)  # what the official client makes of that answer
    with pytest.raises(client_errors.InvalidMimeTypeError):
        requestor.interpret_response(refused.content, refused.status_code, refused.headers)
    # a 40 MB upload is refused before it is read whole
    huge = httpx.post(
        f"{api_url}/api/v1/files/certificates",
        data={"contractor": contractor},
        files={"certificate": ("huge.pdf", b"%PDF-1.7\n" + b"0" * (40 * 1024 * 1024), "application/pdf")},
        auth=(key, ""),
        timeout=60,
    )
    assert huge.status_code == 413 and huge.json()["error_code"] == "invalid_file_size"
    with pytest.raises(client_errors.InvalidFileSizeError):
        requestor.interpret_response(huge.content, huge.status_code, huge.headers)
    assert _counts(session_factory, org) == before
    # while a certificate of 14 MB (a large scan) goes through, on this route only
    large = pdf + b"\n%" + b"0" * (14 * 1024 * 1024)
    assert upload(api_url, key, contractor, large, "large-scan.pdf")["status"] == "pending"
    elsewhere = httpx.post(f"{api_url}/api/v1/contractors", content=large, auth=(key, ""), timeout=60)
    assert elsewhere.status_code == 413 and elsewhere.json()["error_code"] == "request_too_large"


def test_no_requirement_is_refused(api_url: str, org: Org) -> None:
    contractor = new_contractor(api_url, org.sandbox_key)
    with pytest.raises(client_errors.NoInsuranceRequirementFoundError):
        upload(api_url, org.sandbox_key, contractor, factory.fillable(GOOD))


HOSTILE = {
    "encrypted": factory.encrypted(GOOD),
    "corrupt": factory.corrupt(),
    "zip bomb": factory.zip_bomb(),
    "blank scan": factory.blank_scan(),
    "300 pages": factory.many_pages(300),
}


def test_unreadable_files_end_in_error_with_the_reason(
    api_url: str, tenant: tuple[Org, str], session_factory: sessionmaker[Session]
) -> None:
    org, contractor = tenant
    before = _counts(session_factory, org)
    ids = {name: upload(api_url, org.sandbox_key, contractor, data)["id"] for name, data in HOSTILE.items()}
    reasons = {}
    for name, certificate_id in ids.items():
        done = reviewed(api_url, org.sandbox_key, certificate_id)
        assert done["status"] == "error", (name, done["status"], failed_rules(done))
        assert done["error"] and done["review_results"]["error"] == done["error"], name
        reasons[name] = done["error"]
    assert "encrypted" in reasons["encrypted"] and "300" in reasons["300 pages"], reasons
    # each is one certificate, its PDF and its certificate.error event: nothing else changed
    certificates, documents, events = _counts(session_factory, org)
    assert (certificates, documents, events) == (before[0] + 5, before[1] + 5, before[2] + 5)
    with session_factory() as session:
        errors = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.organization_id == org.id, Event.type == "certificate.error")
        )
    assert errors == len(HOSTILE)


def test_the_same_file_twice_is_one_review_and_a_newer_one_supersedes(
    api_url: str, tenant: tuple[Org, str], session_factory: sessionmaker[Session]
) -> None:
    org, contractor = tenant
    first = upload(api_url, org.sandbox_key, contractor, factory.flattened(GOOD))
    again = upload(api_url, org.sandbox_key, contractor, factory.flattened(GOOD))
    assert again["id"] == first["id"]
    reviewed(api_url, org.sandbox_key, first["id"])
    assert upload(api_url, org.sandbox_key, contractor, factory.flattened(GOOD))["id"] == first["id"]
    with session_factory() as session:
        events = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.organization_id == org.id, Event.type.like("certificate.%"))
        )
    assert events == 1
    newer = upload(api_url, org.sandbox_key, contractor, factory.fillable(GOOD))
    assert newer["id"] != first["id"]
    assert retrieve(api_url, org.sandbox_key, first["id"])["superseded_by"] == newer["id"]


def test_other_tenants_cannot_read_or_upload_for_our_contractor(
    api_url: str, tenant: tuple[Org, str], session_factory: sessionmaker[Session]
) -> None:
    org, contractor = tenant
    mine = upload(api_url, org.sandbox_key, contractor, factory.fillable(GOOD))
    other = make_org(session_factory, "Other Platform")
    theirs = add_requirement(session_factory, other)
    with pytest.raises(client_errors.NoInsuranceRequirementFoundError):  # their requirement is not ours
        upload(api_url, org.sandbox_key, contractor, factory.flattened(GOOD), insurance_requirement=theirs)
    add_requirement(session_factory, org, "production")
    for key in (other.sandbox_key, org.production_key):
        assert (
            httpx.get(
                f"{api_url}/api/v1/files/certificates/{mine['id']}", auth=(key, ""), timeout=30
            ).status_code
            == 404
        )
        listed = httpx.get(
            f"{api_url}/api/v1/files/certificates",
            params={"contractor": contractor},
            auth=(key, ""),
            timeout=30,
        )
        assert listed.json() == []
        with pytest.raises(client_errors.ResourceNotFoundError):
            upload(api_url, key, contractor, factory.scanned(GOOD))
    assert json.dumps(retrieve(api_url, org.sandbox_key, mine["id"]))  # still ours, unchanged


def test_an_upload_for_an_assignment_is_held_to_its_entitys_requirement_through_its_end(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    add_requirement(session_factory, org)  # the default: in force today
    contractor = new_contractor(api_url, org.sandbox_key)
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general"]}
        )
        body = {
            **assignment_request(contractor, job, quote.json()),
            "end_date": int(time.time()) + 300 * 86_400,
        }
        assignment = http.post("/assignments", json=body)
        assert assignment.status_code == 201, assignment.text
    through_its_end = replace(RULES, expiry=ExpiryRule.THROUGH_ASSIGNMENT_END)
    with session_factory() as session:  # a second requirement, for this entity's jobs
        session.add(
            InsuranceRequirement.new(
                Scope(org.id, "sandbox"),
                name="Long jobs",
                is_default=False,
                rules=TypeAdapter(RequirementRules).dump_python(through_its_end, mode="json"),
                entity_ids=[entity],
                category_codes=[],
            )
        )
        session.commit()
    certificate = factory.fillable(GOOD)  # in force for another 275 days: not through the assignment's end
    for_the_job = upload(
        api_url, org.sandbox_key, contractor, certificate, assignment=assignment.json()["id"]
    )
    assert for_the_job["assignment"] == assignment.json()["id"]
    done = reviewed(api_url, org.sandbox_key, for_the_job["id"])
    assert done["status"] == "flagged" and "general_liability.expiry" in failed_rules(done), failed_rules(
        done
    )
    other = new_contractor(api_url, org.sandbox_key)  # the same file, for no assignment: the default
    assert (
        reviewed(api_url, org.sandbox_key, upload(api_url, org.sandbox_key, other, certificate)["id"])[
            "status"
        ]
        == "approved"
    )
    with pytest.raises(client_errors.InvalidInputError):  # an assignment that is not this contractor's
        upload(api_url, org.sandbox_key, other, factory.flattened(GOOD), assignment=assignment.json()["id"])
