"""The statuses an object goes through, as stored and shown (the application's are in domain.application)."""

from enum import StrEnum


class AssignmentStatus(StrEnum):
    PENDING = "pending"  # coverage is being bound, or the card charge is in its notice window
    AWAITING_APPLICATION = "awaiting_application"  # standard path: the contractor's application is due
    ACTIVE = "active"
    CHARGE_FAILED = "charge_failed"
    NOT_BOUND = "not_bound"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


class BillStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"


class PolicyStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class PaymentStatus(StrEnum):
    CREATING = "creating"
    CHARGING = "charging"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    DECLINED = "declined"
    REFUNDED = "refunded"
    REFUNDING = "refunding"  # recorded before the refund is asked for; its answer may not have come
    REFUND_FAILED = "refund_failed"  # the processor could not complete it: the money was not given back
