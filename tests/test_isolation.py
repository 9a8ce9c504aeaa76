"""No object is ever visible across organizations or environments: it simply does not exist (404)."""

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.support import Org, contractor_fields, entity_fields, job_fields, make_org


def _make_everything(http: httpx.Client) -> dict[str, tuple[str, dict[str, object]]]:
    """One of each resource, with a valid PUT body for it: path -> (id, update body)."""

    def post(path: str, body: dict[str, object]) -> str:
        response = http.post(path, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    entity = post("/entities", entity_fields())
    contractor = post("/contractors", contractor_fields())
    job = post("/jobs", job_fields(entity))
    quote = post("/quotes", {"contractor": contractor, "job": job, "coverage_type": ["general"]})
    policy = post("/policies", {"quote": quote})
    webhook = post("/webhook_endpoints", {"url": "https://example.com/hook"})
    event = http.get("/events").json()[0]["id"]
    return {
        "/entities": (entity, {"name": "Renamed"}),
        "/contractors": (contractor, {"first_name": "Renamed"}),
        "/jobs": (job, {"name": "Renamed"}),
        "/quotes": (quote, {"coverage_type": ["general"]}),
        "/policies": (policy, {"is_active": True}),
        "/webhook_endpoints": (webhook, {"description": "renamed"}),
        "/events": (event, {}),
    }


@pytest.mark.parametrize("outsider", ["other organization", "same organization, production key"])
def test_objects_are_invisible_to_other_tenants(
    api_url: str, org: Org, session_factory: sessionmaker[Session], outsider: str
) -> None:
    other = make_org(session_factory, "Other Platform")
    outsider_key = other.sandbox_key if outsider == "other organization" else org.production_key
    with (
        httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, "")) as owner,
        httpx.Client(
            base_url=f"{api_url}/api/v1", headers={"Authorization": f"Bearer {outsider_key}"}
        ) as out,
    ):
        objects = _make_everything(owner)
        for path, (object_id, update) in objects.items():
            assert owner.get(f"{path}/{object_id}").status_code == 200
            assert out.get(path).json() == [], path
            seen = out.get(f"{path}/{object_id}")
            assert seen.status_code == 404, path
            assert seen.json()["error_code"].startswith("invalid_"), seen.json()
            if path != "/events":
                assert out.put(f"{path}/{object_id}", json=update).status_code == 404, path
            if path not in ("/events", "/quotes"):  # neither can be deleted by anyone
                assert out.delete(f"{path}/{object_id}").status_code == 404, path
        contractor, _ = objects["/contractors"]
        assert out.get(f"/contractors/{contractor}/policies").status_code == 404
        # References in a body are checked the same way: another tenant's job cannot be quoted.
        mine = out.post("/contractors", json=contractor_fields()).json()["id"]
        job, _ = objects["/jobs"]
        refused = out.post("/quotes", json={"contractor": mine, "job": job, "coverage_type": ["general"]})
        assert (refused.status_code, refused.json()["error_code"]) == (404, "invalid_job_id")
        # ...and nothing the outsider tried changed the owner's objects.
        for path, (object_id, _) in objects.items():
            body: Callable[[], dict[str, object]] = owner.get(f"{path}/{object_id}").json
            assert body().get("name", "") != "Renamed" and body().get("first_name", "") != "Renamed"


def test_contractor_emails_are_unique_per_tenant_only(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    other = make_org(session_factory, "Other Platform")
    for key in (org.sandbox_key, org.production_key, other.sandbox_key):
        response = httpx.post(
            f"{api_url}/api/v1/contractors",
            json=contractor_fields("same@example.com"),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 201, response.text
