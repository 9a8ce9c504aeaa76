"""The official ``ten99policy`` client (PyPI) drives every core resource against a real server."""

import time

import pytest
import ten99policy
from ten99policy import error

from tests.support import INFLUENCER, contractor_fields, entity_fields, job_fields

DAY = 86_400


def test_entities_crud(client: object) -> None:
    entity = ten99policy.Entities.create(**entity_fields())
    assert entity["id"].startswith("en_") and len(entity["id"]) >= 17
    assert entity["coverage_limit"] == {"aggregate_limit": 200000000, "occurrence_limit": 100000000}
    assert ten99policy.Entities.retrieve(entity["id"])["name"] == "Acme Brands"
    updated = ten99policy.Entities.modify(entity["id"], name="Acme Brands LLC")
    assert updated["name"] == "Acme Brands LLC"
    assert [e["id"] for e in ten99policy.Entities.list()] == [entity["id"]]
    deleted = ten99policy.Entities.delete(entity["id"])
    assert deleted["deleted"] is True and deleted["object"] == "entity" and deleted["deleted_at"]
    with pytest.raises(error.InvalidEntityIdError):
        ten99policy.Entities.retrieve(entity["id"])


def test_contractors_crud_and_metadata(client: object) -> None:
    contractor = ten99policy.Contractors.create(
        **contractor_fields(
            custom_metadata={"platform_id": "u-1", "tier": "gold"}, tax_identification="123-45-6789"
        )
    )
    assert contractor["id"].startswith("cn_")
    assert contractor["address"]["postalcode"] == "94102"
    assert contractor["tax_identification"] == "*******6789"
    assert contractor["withhold_premium"] is None

    updated = ten99policy.Contractors.modify(
        contractor["id"], custom_metadata={"tier": "", "team": "west"}, withhold_premium=True
    )
    assert updated["custom_metadata"] == {"platform_id": "u-1", "team": "west"}
    assert updated["withhold_premium"] is True
    cleared = ten99policy.Contractors.modify(contractor["id"], custom_metadata={})
    assert cleared["custom_metadata"] == {}

    found = ten99policy.Contractors.list(email="jane.doe@example.com")
    assert [c["id"] for c in found] == [contractor["id"]]
    assert ten99policy.Contractors.list(email="nobody@example.com") == []

    with pytest.raises(error.DuplicateEmailError):
        ten99policy.Contractors.create(**contractor_fields())
    with pytest.raises(error.InvalidContractorIdError) as raised:
        ten99policy.Contractors.retrieve("cn_doesnotexist000")
    assert raised.value.http_status == 404

    assert ten99policy.Contractors.delete(contractor["id"])["deleted"] is True
    assert ten99policy.Contractors.list() == []


def test_list_pagination_newest_first(client: object) -> None:
    ids = [ten99policy.Contractors.create(**contractor_fields(f"c{i}@example.com"))["id"] for i in range(5)]
    newest_first = list(reversed(ids))
    assert [c["id"] for c in ten99policy.Contractors.list(limit=2)] == newest_first[:2]
    assert [
        c["id"] for c in ten99policy.Contractors.list(limit=2, starting_after=newest_first[1])
    ] == newest_first[2:4]
    assert [
        c["id"] for c in ten99policy.Contractors.list(limit=2, ending_before=newest_first[4])
    ] == newest_first[2:4]
    assert [c["id"] for c in ten99policy.Contractors.list(starting_after=newest_first[4])] == []
    with pytest.raises(error.InvalidInputError, match="limit"):
        ten99policy.Contractors.list(limit=101)


def test_job_categories_jobs_quotes_policies(client: object) -> None:
    categories = ten99policy.JobCategories.list()
    assert {"category_code": INFLUENCER, "name": "Spokesperson / Influencer"}.items() <= next(
        c for c in categories if c["category_code"] == INFLUENCER
    ).items()

    entity = ten99policy.Entities.create(**entity_fields())
    contractor = ten99policy.Contractors.create(**contractor_fields())
    job = ten99policy.Jobs.create(**job_fields(entity["id"], duration_hours=12))
    assert job["id"].startswith("jb_") and job["category_code"] == INFLUENCER
    assert ten99policy.Jobs.modify(job["id"], wage=300_000)["wage"] == 300_000
    renamed = ten99policy.Jobs.modify(job["id"], name="Summer campaign")
    assert (renamed["name"], renamed["wage"], renamed["duration_hours"]) == ("Summer campaign", 300_000, 12)

    quote = ten99policy.Quotes.create(
        contractor=contractor["id"], job=job["id"], coverage_type=["general", "workers-comp"]
    )
    assert quote["id"].startswith("qt_") and quote["eligible"] is True
    # Seeded CA rates for influencers: GL 18*1.35 = 24 + stamping 3 + RPG 2 = 29; WC 62*1.55 = 96.
    assert quote["quote_json"] == {
        "gl": {"net_rate": 24, "stamping_fee": 3, "risk_purchasing_group_fee": 2},
        "wc": {"net_rate": 96},
    }
    assert (quote["gl_net_rate"], quote["wc_net_rate"], quote["net_rate"]) == (29, 96, 125)
    assert quote["premium_due"] == 3750  # $3,000.00 flat fee x 125 cents per $100
    assert quote["end_date"] - quote["effective_date"] == 30 * DAY
    requoted = ten99policy.Quotes.modify(quote["id"], coverage_type=["workers-comp"])
    assert requoted["net_rate"] == 96 and requoted["premium_due"] == 2880

    policy = ten99policy.Policies.create(quote=quote["id"])
    assert policy["id"].startswith("pl_") and policy["status"] == "active" and policy["is_active"] is True
    assert (policy["effective_date"], policy["expiration_date"]) == (
        requoted["effective_date"],
        requoted["end_date"],
    )
    assert [p["id"] for p in ten99policy.Policies.list(quote=quote["id"])] == [policy["id"]]
    assert [p["id"] for p in ten99policy.ContractorPolicies.list(contractor["id"])] == [policy["id"]]

    with pytest.raises(error.CantUpdateCreateNewQuoteError):
        ten99policy.Quotes.modify(quote["id"], coverage_type=["general"])
    with pytest.raises(error.PolicyAlreadyExistsError):
        ten99policy.Policies.create(quote_id=quote["id"], is_active=True)
    with pytest.raises(error.ContractorHasMatchingPolicyError):
        ten99policy.Quotes.create(contractor=contractor["id"], job=job["id"], coverage_type=["workers-comp"])
    with pytest.raises(error.JobIsUsedError):
        ten99policy.Jobs.delete(job["id"])

    cancelled = ten99policy.Policies.modify(policy["id"], is_active=False)
    assert cancelled["status"] == "cancelled"
    assert ten99policy.Policies.modify(policy["id"], is_active=True)["status"] == "active"
    assert ten99policy.Policies.delete(policy["id"])["deleted"] is True

    types = [e["type"] for e in ten99policy.Events.list()]
    assert types == ["policy.cancelled", "policy.reactivated", "policy.cancelled", "policy.active"]
    first = ten99policy.Events.list(type="policy.active")[0]
    assert first["data"]["id"] == policy["id"] and first["data"]["object"] == "policy"
    assert ten99policy.Events.retrieve(first["id"])["type"] == "policy.active"
    with pytest.raises(error.InvalidEventIdError):
        ten99policy.Events.retrieve("ev_unknown00000000")


def test_ineligible_quote_says_why_and_cannot_bind(client: object) -> None:
    """General liability follows where the contractor lives, and is not written for Hawaii residents."""
    entity = ten99policy.Entities.create(**entity_fields())
    hawaii = {"line1": "1 Ala Moana Blvd", "locality": "Honolulu", "region": "HI", "postalcode": "96814"}
    contractor = ten99policy.Contractors.create(**contractor_fields(address=hawaii))
    job = ten99policy.Jobs.create(**job_fields(entity["id"]))
    quote = ten99policy.Quotes.create(contractor=contractor["id"], job=job["id"], coverage_type=["general"])
    assert quote["eligible"] is False
    assert "not available in Hawaii" in quote["eligibility_message"]
    with pytest.raises(error.InvalidQuoteIdError, match="not eligible"):
        ten99policy.Policies.create(quote=quote["id"])


@pytest.mark.parametrize(
    ("state", "fund"),
    [
        ("OH", "Ohio Bureau of Workers' Compensation"),
        ("ND", "North Dakota Workforce Safety & Insurance"),
        ("WA", "Washington State Department of Labor & Industries"),
        ("WY", "Wyoming Department of Workforce Services"),
    ],
)
def test_workers_comp_in_a_monopolistic_state_names_the_state_fund(
    client: object, state: str, fund: str
) -> None:
    """1099Policy's eligibility guide: workers' comp in ND, OH, WA and WY is the state fund's, a 400 that
    says so; general liability alone for work there is quoted as anywhere else."""
    entity = ten99policy.Entities.create(**entity_fields())
    contractor = ten99policy.Contractors.create(**contractor_fields())["id"]
    job = ten99policy.Jobs.create(**job_fields(entity["id"], address={"region": state}))["id"]
    for coverage in (["workers-comp"], ["general", "workers-comp"]):
        with pytest.raises(error.InvalidInputError) as refused:
            ten99policy.Quotes.create(contractor=contractor, job=job, coverage_type=coverage)
        assert refused.value.http_status == 400
        assert fund in str(refused.value) and "monopolistic" in str(refused.value)
    with pytest.raises(error.InvalidInputError, match=fund):
        ten99policy.Assignments.create(contractor=contractor, job=job, coverage_type=["workers-comp"])
    liability = ten99policy.Quotes.create(contractor=contractor, job=job, coverage_type=["general"])
    assert liability["eligible"] is True
    with pytest.raises(error.InvalidInputError, match=fund):  # and it cannot be re-quoted into it
        ten99policy.Quotes.modify(liability["id"], coverage_type=["general", "workers-comp"])
    assert ten99policy.Policies.create(quote=liability["id"])["status"] == "active"


def test_quote_dates_are_checked(client: object) -> None:
    entity = ten99policy.Entities.create(**entity_fields())
    contractor = ten99policy.Contractors.create(**contractor_fields())
    job = ten99policy.Jobs.create(**job_fields(entity["id"]))
    now = int(time.time())
    with pytest.raises(error.EffectiveDateInvalidError):
        ten99policy.Quotes.create(
            contractor=contractor["id"],
            job=job["id"],
            coverage_type=["general"],
            effective_date=now - 3 * DAY,
        )
    with pytest.raises(error.EndDateInvalidError):
        ten99policy.Quotes.create(
            contractor=contractor["id"],
            job=job["id"],
            coverage_type=["general"],
            effective_date=now + DAY,
            end_date=now + 400 * DAY,
        )
    start = now - now % DAY + 2 * DAY
    same_day = ten99policy.Quotes.create(
        contractor=contractor["id"],
        job=job["id"],
        coverage_type=["general"],
        effective_date=start,
        end_date=start + 3600,
    )
    assert same_day["end_date"] == start + DAY


def test_jobs_need_an_approved_category(client: object) -> None:
    entity = ten99policy.Entities.create(**entity_fields())
    with pytest.raises(error.MissingJobCategoryCodeError):
        ten99policy.Jobs.create(**job_fields(entity["id"], category_code=None))
    with pytest.raises(error.InvalidJobCategoryCodeError):
        ten99policy.Jobs.create(**job_fields(entity["id"], category_code="jc_notacategory00"))
    with pytest.raises(error.InvalidEntityIdError):
        ten99policy.Jobs.create(**job_fields("en_missing0000000"))
    with pytest.raises(error.InvalidInputError, match="wage_type"):
        ten99policy.Jobs.create(**job_fields(entity["id"], wage_type="weekly"))


def test_webhook_endpoints_crud(client: object) -> None:
    endpoint = ten99policy.Webhooks.create(url="https://platform.example/hooks", events=["policy.active"])
    assert endpoint["id"].startswith("whe_") and endpoint["secret"].startswith("whsec_")
    assert endpoint["events"] == ["policy.active"]
    assert ten99policy.Webhooks.modify(endpoint["id"], events="*")["events"] == ["*"]
    assert ten99policy.Webhooks.retrieve(endpoint["id"])["secret"] == endpoint["secret"]
    with pytest.raises(error.InvalidInputError, match=r"unknown event types: policy\.exploded"):
        ten99policy.Webhooks.create(url="https://platform.example/hooks", events=["policy.exploded"])
    with pytest.raises(error.InvalidInputError, match="url"):
        ten99policy.Webhooks.create(url="not a url")
    assert ten99policy.Webhooks.delete(endpoint["id"])["deleted"] is True
    with pytest.raises(error.InvalidWebhookEndpointIdError):
        ten99policy.Webhooks.retrieve(endpoint["id"])


def test_deleting_a_contractor_cancels_their_policies(client: object) -> None:
    entity = ten99policy.Entities.create(**entity_fields())
    contractor = ten99policy.Contractors.create(**contractor_fields())
    job = ten99policy.Jobs.create(**job_fields(entity["id"]))
    quote = ten99policy.Quotes.create(contractor=contractor["id"], job=job["id"], coverage_type=["general"])
    policy = ten99policy.Policies.create(quote=quote["id"])
    ten99policy.Contractors.delete(contractor["id"])
    assert ten99policy.Policies.retrieve(policy["id"])["status"] == "cancelled"
    assert ten99policy.Events.list(type="policy.cancelled")[0]["data"]["id"] == policy["id"]


def test_bad_key_raises_the_clients_auth_error(client: object) -> None:
    with pytest.raises(error.InvalidApiKeyError) as raised:
        ten99policy.Contractors.list(api_key="t9k_test_wrong")
    assert raised.value.http_status == 401
