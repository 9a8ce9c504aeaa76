"""The event types a platform can subscribe to (1099Policy's webhook catalog)."""

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
        "policy.active.media",
        "policy.cancelled",
        "policy.reactivated",
        "policy.expired",
        "assignment.active",
        "assignment.cancelled",
        "invoice.charge_card_succeeded",
        "invoice.charge_card_failed",
        "bill.paid",
        "bill.overdue",
        "certificate.approved",
        "certificate.flagged",
        "certificate.denied",
        "category_code.added",
        "creatoriq.creator_synced",
        "creatoriq.sync_failed",
    }
)
