"""Helpers the tests share: free ports, a uvicorn server in a thread, organizations with keys."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from db.organizations import NewOrganization, create_organization


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Run ``app`` with a real uvicorn server on loopback; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class Org:
    id: str
    sandbox_key: str
    production_key: str


def make_org(factory: sessionmaker[Session], name: str = "Test Platform", **options: object) -> Org:
    with factory() as session:
        made: NewOrganization = create_organization(session, name, approve_categories=["*"], **options)  # type: ignore[arg-type]
        return Org(made.organization.id, made.sandbox_key, made.production_key)


INFLUENCER = "jc_fHDT3r1yqfEqZVPZ"  # data/job_categories.json: "influencer"
ADDRESS = {"line1": "123 Main St", "locality": "San Francisco", "region": "CA", "postalcode": 94102}


def contractor_fields(email: str = "jane.doe@example.com", **overrides: object) -> dict[str, object]:
    return {"first_name": "Jane", "last_name": "Doe", "email": email, "phone": "5551234567",
            "address": ADDRESS, **overrides}  # fmt: skip


def entity_fields(**overrides: object) -> dict[str, object]:
    limits = {"aggregate_limit": "200000000", "occurrence_limit": 100000000}  # the client sends strings too
    return {"name": "Acme Brands", "coverage_limit": limits, "required_coverage": ["general", "workers-comp"],
            **overrides}  # fmt: skip


def job_fields(entity: str, **overrides: object) -> dict[str, object]:
    return {"name": "Spring campaign", "description": "Three sponsored posts", "entity": entity,
            "category_code": INFLUENCER, "wage": 250_000, "wage_type": "flatfee",
            "address": {"region": "CA"}, **overrides}  # fmt: skip
