"""Idempotency keys: the first response is replayed; racing duplicates make one object."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import ten99policy
from ten99policy import error

from tests.support import Org, contractor_fields


def _contractors(api_url: str, org: Org) -> list[dict[str, object]]:
    return httpx.get(
        f"{api_url}/api/v1/contractors", params={"limit": 100}, auth=(org.sandbox_key, "")
    ).json()


def test_same_key_twice_gives_one_object_and_the_same_response(
    client: object, api_url: str, org: Org
) -> None:
    first = ten99policy.Contractors.create(idempotency_key="create-jane", **contractor_fields())
    again = ten99policy.Contractors.create(idempotency_key="create-jane", **contractor_fields())
    assert again == first
    assert [c["id"] for c in _contractors(api_url, org)] == [first["id"]]
    assert first.last_response.headers["Ten99Policy-Idempotent-Key"] == "create-jane"
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"


def test_errors_are_replayed_too(client: object) -> None:
    ten99policy.Contractors.create(**contractor_fields())
    for _ in range(2):
        with pytest.raises(error.DuplicateEmailError):
            ten99policy.Contractors.create(idempotency_key="dup", **contractor_fields())


def test_same_key_with_another_body_is_refused(client: object, api_url: str, org: Org) -> None:
    ten99policy.Contractors.create(idempotency_key="k1", **contractor_fields())
    with pytest.raises(error.IdempotencyError) as raised:
        ten99policy.Contractors.create(idempotency_key="k1", **contractor_fields("other@example.com"))
    assert raised.value.http_status == 400
    assert len(_contractors(api_url, org)) == 1


def test_documented_header_wins_over_the_clients_random_one(api_url: str, org: Org) -> None:
    url, auth = f"{api_url}/api/v1/contractors", (org.sandbox_key, "")
    a = httpx.post(
        url,
        json=contractor_fields(),
        auth=auth,
        headers={"Ten99Policy-Idempotent-Key": "fixed", "Idempotency-Key": "random-1"},
    )
    b = httpx.post(
        url,
        json=contractor_fields(),
        auth=auth,
        headers={"Ten99Policy-Idempotent-Key": "fixed", "Idempotency-Key": "random-2"},
    )
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json() == b.json()


def test_keys_are_per_api_key(api_url: str, org: Org) -> None:
    url = f"{api_url}/api/v1/contractors"
    headers = {"Idempotency-Key": "shared"}
    a = httpx.post(
        url, json=contractor_fields(), headers={**headers, "Authorization": f"Bearer {org.sandbox_key}"}
    )
    b = httpx.post(
        url, json=contractor_fields(), headers={**headers, "Authorization": f"Bearer {org.production_key}"}
    )
    assert a.json()["id"] != b.json()["id"]


def test_racing_duplicates_make_one_object(api_url: str, org: Org) -> None:
    url, auth = f"{api_url}/api/v1/contractors", (org.sandbox_key, "")

    def create(_: int) -> httpx.Response:
        return httpx.post(
            url, json=contractor_fields(), auth=auth, headers={"Idempotency-Key": "race"}, timeout=60
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(_contractors(api_url, org)) == 1
