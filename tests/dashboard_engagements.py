"""Shared by the assignment and billing dashboard tests: contractors and jobs made through the REST API with
the organization's sandbox key, ready for an assignment whose premium the organization remits (a general
opt-in on file: it binds at once and bills), and what the API then says about them."""

import time
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from tests.support import Org, contractor_fields, entity_fields, eventually, job_fields, unique_email
from tests.test_assignments_api import _opt_in

PO = {
    "purchase_order_number": "PO-4410",
    "po_contact_name": "Lee Agency",
    "po_contact_email": "lee@agency.example",
}


def api(api_url: str, org: Org) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=60)


def billing_contact(http: httpx.Client, org: Org) -> None:
    """The organization's billing contact: organization-wide, so set with the production key."""
    response = http.put(
        "/organization",
        json={"billing_contact_name": "Pat Payables", "billing_contact_email": "ap@platform.example"},
        auth=(org.production_key, ""),
    )
    assert response.status_code == 200, response.text


def remit_contractor_and_job(
    http: httpx.Client, factory: sessionmaker[Session], org: Org, **job: Any
) -> tuple[str, str]:
    """A contractor whose premium the organization remits, with a completed general opt-in in CA, and a job
    (its PO number and contact in the metadata): an assignment on it binds at once and is billed."""
    billing_contact(http, org)
    entity = http.post("/entities", json=entity_fields()).json()["id"]
    fields = contractor_fields(unique_email("remit"), withhold_premium=True)
    contractor = http.post("/contractors", json=fields).json()["id"]
    made = http.post("/jobs", json=job_fields(entity, custom_metadata=dict(PO), **job))
    assert made.status_code == 201, made.text
    _opt_in(factory, org, contractor, "CA")
    return contractor, made.json()["id"]


def active(http: httpx.Client, assignment_id: str) -> dict[str, Any]:
    return eventually(
        lambda: (found := http.get(f"/assignments/{assignment_id}").json())["status"] == "active" and found,
        timeout=30,
    )


def bills_of(http: httpx.Client, contractor: str) -> list[dict[str, Any]]:
    return http.get("/bills", params={"contractor": contractor, "limit": 100}).json()


def billed_assignment(
    http: httpx.Client, factory: sessionmaker[Session], org: Org, **job: Any
) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """A remit assignment made through the API, active, and its bill: (contractor, job, assignment, bill)."""
    contractor, job_id = remit_contractor_and_job(http, factory, org, **job)
    made = http.post(
        "/assignments", json={"contractor": contractor, "job": job_id, "coverage_type": ["workers-comp"]}
    )
    assert made.status_code == 201, made.text
    assignment = active(http, made.json()["id"])
    (bill,) = eventually(lambda: bills_of(http, contractor), timeout=30)
    return contractor, job_id, assignment, bill


def today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())
