"""A small synchronous CreatorIQ API client: what the sync reads, and the webhook subscription.

Every request for one API key keeps to CreatorIQ's 5 requests per second: across every worker when the
caller passes a shared ``pace`` (db/pace.py: evenly spaced slots in the database), else within the process.
Transient failures (connection errors, 429, 5xx) are retried with exponential backoff, honouring
Retry-After; a refused key (403) or an unknown id (400/404) is final. Each request and its answer take at
most the client's timeout in all, and an answer is read up to MAX_ANSWER_BYTES (integrations/bounded_http).
"""

import hashlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from pyrate_limiter import Duration, Limiter, Rate
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from common.settings import Settings
from integrations.bounded_http import bounded_client, exchange

DEFAULT_BASE_URL = "https://apis.creatoriq.com"
REQUESTS_PER_SECOND = 5
PAGE_SIZE = 50
WINDOW_MARGIN_MS = 150
CUSTOM_FIELDS_SECTION = "PublishersCustomFields"
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a page of 50 creators with their custom fields is far smaller
# The longest Retry-After waited for here: a request (a key being checked) or an activity is waiting. A
# longer one ends the call as unavailable; the sync's next poll tries again.
MAX_RETRY_AFTER_SECONDS = 30.0


class CreatorIQError(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status


class CreatorIQKeyRefused(CreatorIQError):
    """403: the API key is missing, wrong or revoked. Retrying will not help."""


class CreatorIQNotFound(CreatorIQError):
    """CreatorIQ answers 400 for an unknown publisher or campaign id."""


class CreatorIQUnavailable(CreatorIQError):
    """A transient failure that outlasted the retries."""


class _Transient(Exception):
    def __init__(self, status: int | None, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


def pace_interval_ms(requests_per_second: int) -> int:
    """Slots this far apart never put more than the rate in any second, arrival jitter included."""
    return -(-(1000 + WINDOW_MARGIN_MS) // max(1, requests_per_second))


_limiters: dict[str, Limiter] = {}
_limiters_lock = threading.Lock()


def _bucket_of(api_key: str) -> str:
    return f"creatoriq:{hashlib.sha256(api_key.encode()).hexdigest()[:16]}"


def _process_pace(bucket: str, per_second: int) -> Callable[[str], None]:
    """Within this process only: waits its turn on the key's limiter (for callers with no shared pace)."""
    with _limiters_lock:
        if bucket not in _limiters:
            # a window a little longer than a second: requests sent a second apart can arrive closer
            # together, and CreatorIQ counts arrivals
            _limiters[bucket] = Limiter(Rate(per_second, int(Duration.SECOND) + WINDOW_MARGIN_MS))
        limiter = _limiters[bucket]

    def take_turn(name: str) -> None:
        limiter.try_acquire(name)  # blocking: returns once the key has a turn

    return take_turn


def _wait(state: Any) -> float:
    backoff = wait_exponential_jitter(multiplier=0.5, max=10)(state)
    error = state.outcome.exception() if state.outcome else None
    retry_after = getattr(error, "retry_after", None)
    return max(backoff, retry_after or 0)


def _unwrap(item: Any) -> Any:
    """CreatorIQ wraps list items as ``{"Campaign": {...}}``; take the inside."""
    if isinstance(item, dict) and len(item) == 1:
        (inner,) = item.values()
        if isinstance(inner, dict):
            return inner
    return item


def _items(page: dict[str, Any]) -> list[dict[str, Any]]:
    for key, value in page.items():
        if isinstance(value, list) and key != CUSTOM_FIELDS_SECTION:
            return [_unwrap(item) for item in value]
    return []


class CreatorIQClient:
    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        requests_per_second: int = REQUESTS_PER_SECOND,
        timeout: float = 15.0,
        attempts: int = 5,
        pace: Callable[[str], None] | None = None,
    ) -> None:
        self._bucket = _bucket_of(api_key)
        self._wait_turn = pace or _process_pace(self._bucket, requests_per_second)
        self._attempts = attempts
        self._timeout = timeout
        self._http = bounded_client(
            base_url=base_url.rstrip("/"), headers={"x-api-key": api_key, "accept": "application/json"}
        )

    @classmethod
    def configured(
        cls,
        settings: Settings,
        api_key: str,
        attempts: int = 5,
        pace: Callable[[str], None] | None = None,
    ) -> "CreatorIQClient":
        """A client for ``api_key`` at the configured CreatorIQ base URL and rate."""
        return cls(
            api_key,
            settings.creatoriq_base_url,
            settings.creatoriq_requests_per_second,
            attempts=attempts,
            pace=pace,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "CreatorIQClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        self._wait_turn(self._bucket)
        try:
            response = exchange(self._http, method, path, self._timeout, MAX_ANSWER_BYTES, **kwargs)
        except httpx.TransportError as error:
            raise _Transient(None, f"CreatorIQ unreachable: {type(error).__name__}") from error
        if response.status_code == 429 or response.status_code >= 500:
            header = response.headers.get("retry-after")
            retry_after = float(header) if header and header.isdigit() else None
            if retry_after is not None and retry_after > MAX_RETRY_AFTER_SECONDS:
                raise CreatorIQUnavailable(
                    response.status_code,
                    f"CreatorIQ answered {response.status_code} and asked to wait {retry_after:.0f} s",
                )
            raise _Transient(response.status_code, f"CreatorIQ answered {response.status_code}", retry_after)
        if response.status_code == 403 or response.status_code == 401:
            raise CreatorIQKeyRefused(response.status_code, "CreatorIQ refused the API key")
        if response.status_code in (400, 404):
            raise CreatorIQNotFound(response.status_code, f"CreatorIQ has no such object: {path}")
        if response.status_code >= 300:
            raise CreatorIQError(response.status_code, f"CreatorIQ answered {response.status_code}")
        if not response.complete:
            raise CreatorIQError(
                response.status_code, f"CreatorIQ answered more than {MAX_ANSWER_BYTES} bytes"
            )
        return response.json() if response.content else None

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(_Transient),
                wait=_wait,
                stop=stop_after_attempt(self._attempts),
                reraise=True,
            ):
                with attempt:
                    return self._send(method, path, **kwargs)
        except _Transient as error:
            raise CreatorIQUnavailable(error.status, str(error)) from None
        raise AssertionError("unreachable")

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = self.request("GET", path, params={**params, "page": page, "size": PAGE_SIZE}) or {}
            yield body
            total_pages = body.get("totalPages") or body.get("TotalPages")
            if len(_items(body)) < PAGE_SIZE or (total_pages is not None and page >= int(total_pages)):
                return
            page += 1

    def publisher(self, publisher_id: int) -> dict[str, Any]:
        body = self.request("GET", f"/crm/v1/api/publisher/{publisher_id}")
        return body.get("Publisher", body)

    def campaign(self, campaign_id: int) -> dict[str, Any]:
        body = self.request("GET", f"/crm/v1/api/campaign/{campaign_id}")
        return body.get("Campaign", body)

    def campaigns(self) -> Iterator[dict[str, Any]]:
        for page in self._pages("/crm/v1/api/campaigns", {}):
            yield from _items(page)

    def campaign_publishers(self, campaign_id: int, publisher_id: int | None = None) -> list[dict[str, Any]]:
        """Each creator on the campaign with its status and payment, its custom fields (CustomField1…10)
        merged in under ``CustomFields``."""
        params: dict[str, Any] = {"sections": CUSTOM_FIELDS_SECTION}
        if publisher_id is not None:
            params["publisherId"] = publisher_id
        members: list[dict[str, Any]] = []
        for page in self._pages(f"/crm/v1/api/campaign/{campaign_id}/publishers", params):
            custom = {int(row.get("PublisherId", 0)): row for row in page.get(CUSTOM_FIELDS_SECTION) or []}
            for member in _items(page):
                pid = int(member.get("PublisherId") or member.get("Id") or 0)
                members.append({**member, "PublisherId": pid, "CustomFields": custom.get(pid, {})})
        return members

    def subscribe(self, entity_type: str, action_type: str, callback: str) -> dict[str, Any]:
        body = {"entityType": entity_type, "actionType": action_type, "callback": callback}
        return self.request("POST", "/pubsub/subscribe", json=body) or {}

    def subscriptions(self) -> list[dict[str, Any]]:
        body = self.request("GET", "/pubsub/subscriptions") or {}
        return body if isinstance(body, list) else _items(body)

    def unsubscribe(self, entity_type: str, action_type: str, callback: str) -> None:
        body = {"entityType": entity_type, "actionType": action_type, "callback": callback}
        self.request("DELETE", "/pubsub/unsubscribe", json=body)
