"""The event types a platform can subscribe to: those of 1099Policy's webhook catalog that gigcover sends.

Each type here is emitted by some flow (README, "Webhooks", says where). The catalog's other types describe
things gigcover does not do; subscribing to one is refused with the reason, so no platform waits for an event
that never comes.
"""

EVENT_TYPES = frozenset(
    {
        "application.created",
        "application.started",
        "application.complete",
        "application.expired",
        "application.ineligible",
        "application.manual_review",
        "application.manual_review_approved",
        "policy.active",
        "policy.cancelled",
        "policy.reactivated",
        "policy.expired",
        "assignment.active",
        "assignment.cancelled",
        "assignment.extended",
        "assignment.refund_failed",
        "invoice.charge_card_succeeded",
        "invoice.charge_card_failed",
        "bill.paid",
        "bill.overdue",
        "category_code.added",
        "creatoriq.creator_synced",
        "creatoriq.sync_failed",
        "certificate.approved",
        "certificate.flagged",
        "certificate.denied",
        "certificate.error",
        "certificate.lapsed",
    }
)

NOT_SENT: dict[str, str] = {
    "policy.active.media": "it announces a media liability policy, and gigcover writes no media coverage",
}


def not_sent_reason(event_type: str) -> str | None:
    """Why gigcover never sends ``event_type`` although 1099Policy's catalog lists it (None otherwise)."""
    reason = NOT_SENT.get(event_type)
    return f"{event_type} is not sent by gigcover: {reason}" if reason else None
