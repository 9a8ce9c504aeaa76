"""Organizations: the operator CLI makes them and their keys; the API exposes their settings."""

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from api.deps import api_key_from_header
from tests.support import Org

ROOT = Path(__file__).resolve().parent.parent


def test_manage_create_org_prints_working_keys(api_url: str, database_url: str) -> None:
    env = {**os.environ, "GIGCOVER_DATABASE_URL": database_url}
    made = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "create-org",
            "CLI Platform",
            "--withhold-premium",
            "--approve",
            "influencer",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    sandbox = re.search(r"sandbox key:\s+(t9k_test_\w+)", made.stdout)
    live = re.search(r"production key:\s+(t9k_live_\w+)", made.stdout)
    assert sandbox and live, made.stdout
    for key, environment in ((sandbox[1], "sandbox"), (live[1], "production")):
        settings = httpx.get(
            f"{api_url}/api/v1/organization", headers={"Authorization": f"Bearer {key}"}
        ).json()
        assert (settings["name"], settings["environment"], settings["withhold_premium"]) == (
            "CLI Platform",
            environment,
            True,
        )
    categories = httpx.get(f"{api_url}/api/v1/category_codes", auth=(sandbox[1], "")).json()
    assert [c["code"] for c in categories] == ["influencer"]

    org_id = re.search(r"organization:\s+(org_\w+)", made.stdout)
    assert org_id
    subprocess.run(
        [sys.executable, "manage.py", "approve", org_id[1], "photographer"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    categories = httpx.get(f"{api_url}/api/v1/category_codes", auth=(sandbox[1], "")).json()
    assert sorted(c["code"] for c in categories) == ["influencer", "photographer"]


BILLING_ADDRESS = {
    "line1": "500 Market St",
    "locality": "San Francisco",
    "region": "CA",
    "postalcode": "94105",
}


def test_organization_settings(api_url: str, org: Org) -> None:
    url, auth = f"{api_url}/api/v1/organization", (org.production_key, "")
    updated = httpx.put(
        url,
        auth=auth,
        json={
            "withhold_premium": True,
            "billing_contact_name": "Pat Payables",
            "billing_contact_email": "ap@platform.example",
            "billing_address": BILLING_ADDRESS,
        },
    )
    assert updated.status_code == 200, updated.text
    assert httpx.get(url, auth=auth).json()["billing_contact_email"] == "ap@platform.example"
    refused = httpx.put(url, auth=auth, json={"withhold_premium": None})
    assert (refused.status_code, refused.json()["error_code"]) == (400, "invalid_input")
    assert httpx.get(url, auth=auth).json()["withhold_premium"] is True


def test_withholding_the_premium_needs_the_billing_details_and_contact(api_url: str, org: Org) -> None:
    """Seed 001: to remit on the contractors' behalf, "you'll need to add your billing details and contact
    information ... so we know where to direct the payable invoice"."""
    url, auth = f"{api_url}/api/v1/organization", (org.production_key, "")
    contact = {"billing_contact_name": "Pat Payables", "billing_contact_email": "ap@platform.example"}
    for partial in (
        {},
        contact,
        {**contact, "billing_contact_name": None, "billing_address": BILLING_ADDRESS},
    ):
        refused = httpx.put(url, auth=auth, json={"withhold_premium": True, **partial})
        assert refused.status_code == 400, partial
        assert refused.json()["error_code"] == "invalid_input"
        assert refused.json()["message"].startswith("withhold_premium: add your billing details first")
        assert httpx.get(url, auth=auth).json()["withhold_premium"] is False
    assert httpx.put(url, auth=auth, json={**contact, "billing_address": BILLING_ADDRESS}).status_code == 200
    assert httpx.put(url, auth=auth, json={"withhold_premium": True}).json()["withhold_premium"] is True
    removed = httpx.put(url, auth=auth, json={"billing_address": None})  # not while the premium is withheld
    assert removed.status_code == 400 and "billing details" in removed.json()["message"]
    assert httpx.get(url, auth=auth).json()["billing_address"] == BILLING_ADDRESS
    assert httpx.put(url, auth=auth, json={"billing_contact_name": "Ana"}).status_code == 200
    turned_off = httpx.put(url, auth=auth, json={"withhold_premium": False, "billing_address": None})
    assert turned_off.status_code == 200 and turned_off.json()["withhold_premium"] is False


def test_key_parsing() -> None:
    assert api_key_from_header("Bearer t9k_test_abc") == "t9k_test_abc"
    assert api_key_from_header("Basic dDlrX3Rlc3RfYWJjOg==") == "t9k_test_abc"  # "t9k_test_abc:"
    assert api_key_from_header("t9k_test_abc") == "t9k_test_abc"
    assert api_key_from_header("Basic ???") is None
    assert api_key_from_header(None) is None
