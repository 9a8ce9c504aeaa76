"""Every failure answers in the API's error format, with a request id, and changes nothing."""

import httpx
import pytest
from fastapi import FastAPI

from api.main import create_app
from common.settings import Settings
from tests.support import Org, contractor_fields, serve


@pytest.fixture
def http(api_url: str, org: Org) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", headers={"Authorization": f"Bearer {org.sandbox_key}"})


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["request-id"].startswith("req_")
    body = response.json()
    assert set(body) == {"message", "error_code"} and body["error_code"] == code
    return str(body["message"])


@pytest.mark.parametrize("authorization", [None, "Bearer t9k_test_nope", "Basic !!!", "Bearer", "t9k_live_x"])
def test_missing_or_wrong_key(api_url: str, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    _error(httpx.get(f"{api_url}/api/v1/contractors", headers=headers), 401, "invalid_api_key")


def test_validation_names_the_field_and_creates_nothing(http: httpx.Client) -> None:
    bad_state = contractor_fields(
        address={"line1": "1 Rue", "locality": "Paris", "region": "IDF", "postalcode": "75001"}
    )
    message = _error(http.post("/contractors", json=bad_state), 400, "invalid_input")
    assert "address.region" in message and "not a US state" in message
    assert "email" in _error(
        http.post("/contractors", json=contractor_fields(email="not-an-email")), 400, "invalid_input"
    )
    assert "nickname: unknown field" in _error(
        http.post("/contractors", json=contractor_fields(nickname="J")), 400, "invalid_input"
    )
    assert "not valid JSON" in _error(
        http.post("/contractors", content=b"{oops", headers={"content-type": "application/json"}),
        400,
        "invalid_input",
    )
    assert http.get("/contractors").json() == []


def test_unknown_ids_paths_and_methods(http: httpx.Client) -> None:
    _error(http.get("/jobs/jb_missing000000000"), 404, "invalid_job_id")
    _error(http.get("/quotes/qt_missing000000000"), 404, "invalid_quote_id")
    _error(http.get("/policies/pl_missing000000000"), 404, "invalid_policy_id")
    _error(http.get("/nothing-here"), 404, "resource_not_found")
    _error(http.patch("/contractors"), 405, "bad_request")


def test_state_conflicts_are_409(http: httpx.Client) -> None:
    entity = http.post("/entities", json={"name": "Acme"}).json()["id"]
    http.post(
        "/jobs",
        json={
            "name": "J",
            "description": "D",
            "entity": entity,
            "category_code": "jc_fHDT3r1yqfEqZVPZ",
            "wage": 10_000,
            "wage_type": "hourly",
        },
    )
    _error(http.delete(f"/entities/{entity}"), 409, "bad_request")


def test_unexpected_exceptions_are_500_general_without_internals(
    settings: Settings, session_factory: object
) -> None:
    app: FastAPI = create_app(settings)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with serve(app) as url:
        response = httpx.get(f"{url}/api/v1/boom")
    message = _error(response, 500, "general")
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.headers["request-id"] in message


def test_odd_json_shapes_are_input_errors_not_crashes(http: httpx.Client) -> None:
    """Found by the fuzzer: a nested list among webhook event types used to crash the validator."""
    _error(
        http.post("/webhook_endpoints", json={"url": "https://x.example", "events": [["policy.active"]]}),
        400,
        "invalid_input",
    )
    _error(http.post("/contractors", json=[1, 2]), 400, "invalid_input")


def test_values_the_database_cannot_store_are_refused(http: httpx.Client) -> None:
    """Found by the fuzzer on PostgreSQL: NUL characters, and numbers beyond a column (or a date)."""
    assert "NUL" in _error(http.post("/entities", json={"name": "Acme\x00"}), 400, "invalid_input")
    assert "NUL" in _error(http.get("/contractors", params={"email": "a\x00b"}), 400, "invalid_input")
    entity = http.post("/entities", json={"name": "Acme"}).json()["id"]
    job = {
        "name": "J",
        "description": "D",
        "entity": entity,
        "category_code": "jc_fHDT3r1yqfEqZVPZ",
        "wage_type": "flatfee",
    }
    assert "wage" in _error(http.post("/jobs", json={**job, "wage": 3_000_000_000}), 400, "invalid_input")
    contractor = http.post("/contractors", json=contractor_fields()).json()["id"]
    job_id = http.post("/jobs", json={**job, "wage": 100_000}).json()["id"]
    late = http.post(
        "/quotes",
        json={
            "contractor": contractor,
            "job": job_id,
            "coverage_type": ["general"],
            "effective_date": 253_400_000_000,  # 9999-12-08: its default 30 days pass the last date shown
        },
    )
    assert "9999-12-31" in _error(late, 400, "end_date_invalid")
