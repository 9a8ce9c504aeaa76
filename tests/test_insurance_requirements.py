"""``/insurance_requirements`` through a real server with the official client's requestor (it has no resource
class for them), and the attacks on it: another organization's ids, the other environment, hostile values.
Also how the requirement a certificate is reviewed against is chosen (services.insurance_requirements)."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import ten99policy
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from ten99policy import error
from ten99policy.api_requestor import APIRequestor

from db.models import InsuranceRequirement, Organization
from domain.errors import DomainError
from services.insurance_requirements import requirement_for
from services.tenancy import Tenant
from tests.support import INFLUENCER, Org, entity_fields, make_org

PATH = "/api/v1/insurance_requirements"
PHOTOGRAPHER = "jc_mYfgO5MfLoPK5fku"


def call(method: str, path: str = PATH, params: dict[str, Any] | None = None, key: str | None = None) -> Any:
    response, _ = APIRequestor(key=key or ten99policy.api_key).request(method, path, params)
    return response.data


def general_liability(**overrides: object) -> dict[str, Any]:
    return {
        "name": "Event crews",
        "coverages": [
            {
                "coverage": "general_liability",
                "minimum_limits": {"each_occurrence": 1_000_000, "general_aggregate": 2_000_000},
                "additional_insured": True,
                "waiver_of_subrogation": True,
            },
            {"coverage": "workers_comp", "minimum_limits": {"el_each_accident": 500_000}},
        ],
        "expiry": {"rule": "days_left", "minimum_days_left": 30},
        "certificate_holder": "Acme Staffing, Inc.",
        **overrides,
    }


def test_create_list_retrieve_update_delete(client: object) -> None:
    first = call("post", params=general_liability())
    assert first["id"].startswith("ir_") and first["object"] == "insurance_requirement"
    assert first["is_default"] is True  # the first one is the default
    assert first["coverages"][0] == {
        "coverage": "general_liability",
        "minimum_limits": {"each_occurrence": 1_000_000, "general_aggregate": 2_000_000},
        "additional_insured": True,
        "waiver_of_subrogation": True,
    }
    assert first["expiry"] == {"rule": "days_left", "minimum_days_left": 30}
    assert first["description"] == [
        "General liability: each occurrence at least $1,000,000; general aggregate at least $2,000,000; "
        "the certificate holder named as additional insured; waiver of subrogation.",
        "Workers' compensation: employer's liability each accident at least $500,000.",
        "Each policy in force with at least 30 days left.",
        "Certificate made out to Acme Staffing, Inc.",
    ]

    entity = ten99policy.Entities.create(**entity_fields())
    second = call(
        "post",
        params={
            "name": "Photographers",
            "is_default": True,
            "entity_ids": [entity["id"]],
            "category_codes": ["photographer", PHOTOGRAPHER],
        },
    )
    assert second["is_default"] is True and second["category_codes"] == [PHOTOGRAPHER]
    assert call("get", f"{PATH}/{first['id']}")["is_default"] is False  # one default at a time

    listed = call("get", params={"limit": 1})
    assert [r["id"] for r in listed] == [second["id"]]
    assert [r["id"] for r in call("get", params={"starting_after": second["id"]})] == [first["id"]]

    with pytest.raises(error.Ten99PolicyError) as raised:
        call("delete", f"{PATH}/{second['id']}")
    assert raised.value.http_status == 409
    updated = call("put", f"{PATH}/{first['id']}", {"is_default": True, "name": "Event crews 2026"})
    assert updated["is_default"] is True and updated["name"] == "Event crews 2026"
    assert updated["coverages"][1]["coverage"] == "workers_comp"  # untouched fields stay
    changed = call("put", f"{PATH}/{first['id']}", {"expiry": {"rule": "in_force_today"}})
    assert changed["expiry"] == {"rule": "in_force_today", "minimum_days_left": None}

    deleted = call("delete", f"{PATH}/{second['id']}")
    assert deleted == {
        "id": second["id"],
        "object": "insurance_requirement",
        "deleted": True,
        "deleted_at": deleted["deleted_at"],
    }
    with pytest.raises(error.Ten99PolicyError) as gone:
        call("get", f"{PATH}/{second['id']}")
    assert (
        gone.value.http_status == 404
        and gone.value.json_body["error_code"] == "invalid_insurance_requirement_id"
    )
    assert [r["id"] for r in call("get")] == [first["id"]]


def attempts(requirement_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("get", f"{PATH}/{requirement_id}", None),
        ("put", f"{PATH}/{requirement_id}", {"name": "taken over", "is_default": True}),
        ("delete", f"{PATH}/{requirement_id}", None),
    ]


def test_another_organization_or_environment_cannot_see_or_change_a_requirement(
    client: object, api_url: str, session_factory: sessionmaker[Session], org: Org
) -> None:
    mine = call("post", params=general_liability())
    other = make_org(session_factory, "Other Platform")
    for method, path, params in attempts(mine["id"]):
        for key in (other.sandbox_key, other.production_key, org.production_key):
            with pytest.raises(error.Ten99PolicyError) as raised:
                call(method, path, params, key=key)
            assert raised.value.http_status == 404, (method, key)
    assert call("get", params={}, key=other.sandbox_key) == []
    assert call("get", params={}, key=org.production_key) == []
    with pytest.raises(error.Ten99PolicyError) as paging:
        call("get", params={"starting_after": mine["id"]}, key=other.sandbox_key)
    assert paging.value.http_status == 400
    after = call("get", f"{PATH}/{mine['id']}")
    assert after["name"] == "Event crews" and after["is_default"] is True

    # another organization's entity, or this one's in the other environment, cannot be attached
    theirs = APIRequestor(key=other.sandbox_key).request("post", "/api/v1/entities", entity_fields())[0].data
    production = (
        APIRequestor(key=org.production_key).request("post", "/api/v1/entities", entity_fields())[0].data
    )
    for entity_id in (theirs["id"], production["id"]):
        with pytest.raises(error.Ten99PolicyError) as refused:
            call("post", params=general_liability(entity_ids=[entity_id]))
        assert refused.value.http_status == 400
        assert refused.value.json_body["error_code"] == "invalid_entity_id"
    assert len(call("get")) == 1


HOSTILE: list[tuple[str, dict[str, Any]]] = [
    ("a 10k-character name", {"name": "x" * 10_000}),
    ("an empty name", {"name": ""}),
    (
        "a limit beyond a billion",
        {"coverages": [{"coverage": "auto", "minimum_limits": {"combined_single_limit": 10**30}}]},
    ),
    ("a zero limit", {"coverages": [{"coverage": "auto", "minimum_limits": {"combined_single_limit": 0}}]}),
    ("a negative limit", {"coverages": [{"coverage": "cyber", "minimum_limits": {"each_claim": -5}}]}),
    ("a fractional limit", {"coverages": [{"coverage": "cyber", "minimum_limits": {"each_claim": 1000.5}}]}),
    (
        "a limit given as text",
        {"coverages": [{"coverage": "cyber", "minimum_limits": {"each_claim": "1000000"}}]},
    ),
    ("a limit given as true", {"coverages": [{"coverage": "cyber", "minimum_limits": {"each_claim": True}}]}),
    ("an unknown coverage", {"coverages": [{"coverage": "pet_insurance"}]}),
    ("an unknown limit", {"coverages": [{"coverage": "auto", "minimum_limits": {"per_pet": 5}}]}),
    (
        "a limit of another coverage",
        {"coverages": [{"coverage": "workers_comp", "minimum_limits": {"each_occurrence": 5}}]},
    ),
    ("a coverage twice", {"coverages": [{"coverage": "auto"}, {"coverage": "auto"}]}),
    ("seven coverages", {"coverages": [{"coverage": "auto"}] * 7}),
    ("an unknown expiry rule", {"expiry": {"rule": "forever"}}),
    ("days_left without days", {"expiry": {"rule": "days_left"}}),
    ("zero days left", {"expiry": {"rule": "days_left", "minimum_days_left": 0}}),
    ("a century of days left", {"expiry": {"rule": "days_left", "minimum_days_left": 36_500}}),
    ("days with another rule", {"expiry": {"rule": "in_force_today", "minimum_days_left": 5}}),
    ("an unknown job category", {"category_codes": ["jc_doesnotexist0000"]}),
    ("an unknown entity", {"entity_ids": ["en_doesnotexist0000"]}),
    ("a 10k-character holder", {"certificate_holder": "h" * 10_000}),
    ("an unknown field", {"rules": {"coverages": []}}),
    ("is_default as text", {"is_default": "yes"}),
    ("a thousand entities", {"entity_ids": [f"en_{i}" for i in range(1000)]}),
]


@pytest.mark.parametrize(("what", "change"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_values_are_a_clear_400_that_changes_nothing(
    client: object, session_factory: sessionmaker[Session], org: Org, what: str, change: dict[str, Any]
) -> None:
    base = {"name": "Base", "coverages": [], **change}
    with pytest.raises(error.Ten99PolicyError) as raised:
        call("post", params=base)
    assert raised.value.http_status == 400, what
    assert raised.value.json_body["message"]
    existing = call("post", params={"name": "Kept"})
    with pytest.raises(error.Ten99PolicyError) as updating:
        call("put", f"{PATH}/{existing['id']}", change)
    assert updating.value.http_status == 400, what
    assert call("get", f"{PATH}/{existing['id']}") == existing
    with session_factory() as session:
        count = session.scalar(
            select(func.count())
            .select_from(InsuranceRequirement)
            .where(InsuranceRequirement.organization_id == org.id)
        )
    assert count == 1


def test_the_requirement_a_certificate_is_reviewed_against(
    client: object, session_factory: sessionmaker[Session], org: Org
) -> None:
    with session_factory() as session:
        tenant = Tenant(session.get(Organization, org.id), "sandbox")
        with pytest.raises(DomainError) as none:
            requirement_for(session, tenant)
        assert none.value.code == "no_insurance_requirement_found"

    entity = ten99policy.Entities.create(**entity_fields())
    default = call("post", params={"name": "Default"})
    by_entity = call("post", params={"name": "For the entity", "entity_ids": [entity["id"]]})
    by_category = call("post", params={"name": "For influencers", "category_codes": ["influencer"]})
    named = call("post", params={"name": "Named"})

    with session_factory() as session:
        tenant = Tenant(session.get(Organization, org.id), "sandbox")

        def chosen(**given: str | None) -> str:
            return requirement_for(session, tenant, **given).id  # type: ignore[arg-type]

        assert chosen(requirement_id=named["id"]) == named["id"]
        assert chosen(entity_id=entity["id"], category_code=INFLUENCER) == by_entity["id"]
        assert chosen(entity_id="en_other", category_code=INFLUENCER) == by_category["id"]
        assert chosen(category_code="influencer") == by_category["id"]
        assert chosen(category_code=PHOTOGRAPHER) == default["id"]
        assert chosen() == default["id"]
        with pytest.raises(DomainError) as unknown:
            chosen(requirement_id="ir_doesnotexist0000")
        assert unknown.value.code == "no_insurance_requirement_found"
        production = Tenant(session.get(Organization, org.id), "production")
        with pytest.raises(DomainError) as other_environment:
            requirement_for(session, production, requirement_id=named["id"])
        assert other_environment.value.code == "no_insurance_requirement_found"


def test_requirements_made_default_at_once_leave_exactly_one_default(
    client: object, api_url: str, org: Org
) -> None:
    def make(i: int) -> int:
        with httpx.Client(base_url=api_url, auth=(org.sandbox_key, ""), timeout=60) as http:
            return http.post(PATH, json={"name": f"Default {i}", "is_default": True}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(make, range(8)))
    made = call("get", params={"limit": 100})
    assert len(made) == statuses.count(201) >= 1
    assert [r["is_default"] for r in made].count(True) == 1
