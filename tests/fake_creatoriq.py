"""A fake CreatorIQ for the tests: a real HTTP server serving the documented API shapes (CRM v1 and pubsub)
and sending signed webhooks the way CreatorIQ does. Each API key is its own CreatorIQ account.

It enforces what the real API enforces and the client must respect: ``x-api-key`` (403 without a known
one), 400 for unknown ids, and 5 requests per second per key (429 beyond, counted in ``too_fast``).
"""

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from integrations.creatoriq.signature import sign

RATE_LIMIT = 5


@dataclass
class Account:
    api_key: str
    publishers: dict[int, dict[str, Any]] = field(default_factory=dict)
    campaigns: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    custom: dict[tuple[int, int], dict[str, str]] = field(default_factory=dict)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    calls: deque[float] = field(default_factory=deque)
    requests: int = 0
    too_fast: int = 0
    fail_next: int = 0  # answer this many requests with 503 first
    deliveries: list[httpx.Response] = field(default_factory=list)

    # What an agency does in the CreatorIQ UI

    def add_campaign(self, campaign_id: int, name: str, start: str, end: str, **extra: Any) -> None:
        self.campaigns[campaign_id] = {
            "Id": campaign_id,
            "CampaignName": name,
            "Description": extra.pop("Description", f"{name}: sponsored posts"),
            "StartDate": start,
            "EndDate": end,
            **extra,
        }

    def add_creator(self, campaign_id: int, publisher_id: int, name: str, **address: Any) -> None:
        self.publishers[publisher_id] = {
            "Id": publisher_id,
            "PublisherName": name,
            "Address": {
                "AddressLine1": address.get("AddressLine1"),
                "City": address.get("City"),
                "State": address.get("State"),
                "ZIPCode": address.get("ZIPCode"),
                "Country": address.get("Country", "US"),
                "Email": address.get("Email"),
            },
            "Country": address.get("Country", "US"),
        }
        self.members[(campaign_id, publisher_id)] = {
            "PublisherId": publisher_id,
            "Status": "Invited",
            "PayoutType": "PerCreator",
            "Currency": "USD",
            "PublisherCustomPayout": None,
            "CampaignDefaultPayout": None,
        }
        self.custom[(campaign_id, publisher_id)] = {}
        self.publisher_changed(publisher_id, {"campaign.added": campaign_id}, action="campaign.added")

    def set_payment(self, campaign_id: int, publisher_id: int, amount: float | str | None) -> None:
        self.members[(campaign_id, publisher_id)]["PublisherCustomPayout"] = amount

    def set_custom_fields(self, campaign_id: int, publisher_id: int, **fields: str) -> None:
        """``set_custom_fields(1, 2, CustomField10="4500")``"""
        self.custom[(campaign_id, publisher_id)].update(fields)

    def set_status(self, campaign_id: int, publisher_id: int, status: str) -> None:
        self.members[(campaign_id, publisher_id)]["Status"] = status

    def update_publisher(self, publisher_id: int, **address: Any) -> None:
        """Edit the creator's contact details: CreatorIQ sends ``Publisher update`` to subscribers."""
        self.publishers[publisher_id]["Address"].update(address)
        self.publisher_changed(publisher_id, address)

    def publisher_changed(self, publisher_id: int, changed: dict[str, Any], action: str = "update") -> None:
        payload: dict[str, Any] = {"PublisherId": publisher_id, "ChangedData": changed}
        if action == "campaign.added":
            payload["CampaignId"] = changed["campaign.added"]
        self.deliver(self.envelope("Publisher", action, publisher_id, payload))

    def envelope(self, entity: str, action: str, entity_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "payload": payload,
            "sender": "CreatorIQ",
            "timestamp": str(int(time.time())),
            "requestId": str(uuid.uuid4()),
            "partnerId": 1,
            "divisionId": 10,
            "divisionName": "Test division",
            "entityType": entity,
            "entityId": entity_id,
            "actionType": action,
        }

    def deliver(self, envelope: dict[str, Any], api_key: str | None = None) -> list[httpx.Response]:
        """POST the signed envelope to every matching subscription (as CreatorIQ does)."""
        sent = []
        for subscription in self.subscriptions:
            if subscription["entityType"] == envelope["entityType"] and subscription["actionType"] in (
                "*",
                envelope["actionType"],
            ):
                headers = sign(envelope["payload"], envelope["timestamp"], api_key or self.api_key)
                response = httpx.post(subscription["callback"], json=envelope, headers=headers, timeout=30)
                self.deliveries.append(response)
                sent.append(response)
        return sent


class Refused(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


class FakeCreatorIQ:
    def __init__(self) -> None:
        self.url = ""
        self.accounts: dict[str, Account] = {}
        self._lock = threading.Lock()
        self.app = self._build()

    def account(self, api_key: str) -> Account:
        with self._lock:
            return self.accounts.setdefault(api_key, Account(api_key))

    def _admit(self, request: Request) -> Account:
        """Every route's gate, as a dependency: the key's account, or a refusal like CreatorIQ's."""
        key = request.headers.get("x-api-key")
        account = self.accounts.get(key or "")
        if account is None:
            raise Refused(403, "Forbidden")
        with self._lock:
            now = time.monotonic()
            while account.calls and now - account.calls[0] >= 1.0:
                account.calls.popleft()
            account.requests += 1
            if len(account.calls) >= RATE_LIMIT:
                account.too_fast += 1
                raise Refused(429, "Too Many Requests")
            account.calls.append(now)
            if account.fail_next > 0:
                account.fail_next -= 1
                raise Refused(503, "Service Unavailable")
        return account

    def _build(self) -> FastAPI:
        app = FastAPI()
        Admitted = Annotated[Account, Depends(self._admit)]

        @app.exception_handler(Refused)
        async def refused(_request: Request, refusal: Refused) -> JSONResponse:
            return JSONResponse({"error": refusal.error}, status_code=refusal.status)

        unknown = JSONResponse({"error": "Bad Request", "message": "unknown id"}, status_code=400)

        def page_of(items: list[Any], key: str, request: Request, extra: dict[str, Any] | None = None) -> Any:
            page = int(request.query_params.get("page", 1))
            size = int(request.query_params.get("size", 50))
            chunk = items[(page - 1) * size : page * size]
            return {
                key: chunk,
                **(extra or {}),
                "total": len(items),
                "page": page,
                "size": size,
                "totalPages": max(1, -(-len(items) // size)),
            }

        @app.get("/crm/v1/api/publisher/{publisher_id}")
        def publisher(publisher_id: int, account: Admitted) -> Any:
            found = account.publishers.get(publisher_id)
            return {"Publisher": found} if found else unknown

        @app.get("/crm/v1/api/campaigns")
        def campaigns(request: Request, account: Admitted) -> Any:
            items = [{"Campaign": c} for _, c in sorted(account.campaigns.items())]
            return page_of(items, "CampaignCollection", request)

        @app.get("/crm/v1/api/campaign/{campaign_id}")
        def campaign(campaign_id: int, account: Admitted) -> Any:
            found = account.campaigns.get(campaign_id)
            return {"Campaign": found} if found else unknown

        @app.get("/crm/v1/api/campaign/{campaign_id}/publishers")
        def campaign_publishers(campaign_id: int, request: Request, account: Admitted) -> Any:
            if campaign_id not in account.campaigns:
                return unknown
            wanted = request.query_params.get("publisherId")
            keys = [
                k
                for k in sorted(account.members)
                if k[0] == campaign_id and (not wanted or k[1] == int(wanted))
            ]
            items = [
                {
                    "Publisher": {
                        **account.members[k],
                        "CampaignStartDate": account.campaigns[campaign_id]["StartDate"],
                        "CampaignEndDate": account.campaigns[campaign_id]["EndDate"],
                    }
                }
                for k in keys
            ]
            extra = {}
            if "PublishersCustomFields" in request.query_params.get("sections", ""):
                extra["PublishersCustomFields"] = [
                    {"PublisherId": k[1], "CampaignId": k[0], **account.custom[k]} for k in keys
                ]
            return page_of(items, "PublisherCollection", request, extra)

        @app.put("/crm/v1/api/campaign/{campaign_id}/publishers/status")
        async def set_status(campaign_id: int, request: Request, account: Admitted) -> Any:
            body = await request.json()
            for publisher_id in body["publisherIds"]:
                account.set_status(campaign_id, int(publisher_id), body["status"])
            return {"success": True}

        @app.post("/pubsub/subscribe")
        async def subscribe(request: Request, account: Admitted) -> Any:
            body = await request.json()
            subscription = {"id": len(account.subscriptions) + 1, **body}
            account.subscriptions.append(subscription)
            return subscription

        @app.get("/pubsub/subscriptions")
        def subscriptions(account: Admitted) -> Any:
            return account.subscriptions

        return app
