"""Reading CreatorIQ's JSON into the snapshot the sync rules decide on (no I/O)."""

from datetime import UTC, datetime
from typing import Any

from domain.creatoriq import CreatorSnapshot

# Where CreatorIQ keeps a creator's payment amount for a campaign, most specific first.
PAYMENT_FIELDS = ("PublisherCustomPayout", "FixedFee", "PlannedPayout", "CampaignDefaultPayout")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def unix_time(value: Any) -> int | None:
    """CreatorIQ dates are ISO 8601 (``2026-12-01`` or ``2026-12-01T00:00:00``, UTC unless an offset says)."""
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def payment_amount(member: dict[str, Any]) -> float | None:
    for name in PAYMENT_FIELDS:
        value = member.get(name)
        if value in (None, ""):
            continue
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return None


def custom_fields(member: dict[str, Any]) -> dict[int, str]:
    fields: dict[int, str] = {}
    for name, value in (member.get("CustomFields") or {}).items():
        if name.startswith("CustomField") and name[len("CustomField") :].isdigit():
            text = _text(value)
            if text is not None:
                fields[int(name[len("CustomField") :])] = text
    return fields


def creator_snapshot(
    publisher: dict[str, Any], campaign: dict[str, Any], member: dict[str, Any] | None
) -> CreatorSnapshot:
    """``member`` is the creator's row on the campaign (None when CreatorIQ no longer lists it)."""
    address = publisher.get("Address") or {}
    member = member or {}
    return CreatorSnapshot(
        publisher_id=int(publisher.get("Id") or member.get("PublisherId") or 0),
        campaign_id=int(campaign.get("Id") or campaign.get("CampaignId") or 0),
        name=_text(publisher.get("PublisherName")) or "",
        email=_text(address.get("Email") or publisher.get("Email")),
        address_line1=_text(address.get("AddressLine1")),
        city=_text(address.get("City")),
        state=_text(address.get("State")),
        zip_code=_text(address.get("ZIPCode")),
        country=_text(address.get("Country") or publisher.get("Country")),
        campaign_name=_text(campaign.get("CampaignName")) or f"CreatorIQ campaign {campaign.get('Id')}",
        campaign_description=_text(campaign.get("Description")),
        campaign_start=unix_time(campaign.get("StartDate") or member.get("CampaignStartDate")),
        campaign_end=unix_time(campaign.get("EndDate") or member.get("CampaignEndDate")),
        status=_text(member.get("Status")),
        payment_amount=payment_amount(member),
        custom_fields=custom_fields(member),
    )
