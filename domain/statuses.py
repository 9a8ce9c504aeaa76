"""The statuses an object goes through, as stored and shown (the application's are in domain.application)."""

from enum import StrEnum


class AssignmentStatus(StrEnum):
    PENDING = "pending"  # coverage is being bound, or the card charge is in its notice window
    AWAITING_APPLICATION = "awaiting_application"  # standard path: the contractor's application is due
    ACTIVE = "active"
    CHARGE_FAILED = "charge_failed"
    AWAITING_AUTHENTICATION = (
        "awaiting_authentication"  # the bank asks the contractor to confirm (3-D Secure)
    )
    NOT_BOUND = "not_bound"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class PaymentStage(StrEnum):
    """Where an assignment's premium is, as its workflow shows it (the ``PaymentStage`` search attribute)."""

    PENDING = "pending"  # set when the workflow starts, before any step
    NOTICE = "notice"  # the contractor was reminded; the card is charged when the window ends
    CHARGE_FAILED = "charge_failed"
    AWAITING_AUTHENTICATION = (
        "awaiting_authentication"  # the bank asks the contractor to confirm (3-D Secure)
    )
    PAID = "paid"  # charged to the card
    BILLED = "billed"  # billed to the organization (remit)


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
    AWAITING_AUTHENTICATION = "awaiting_authentication"  # a hold the cardholder's bank asked them to confirm
    CAPTURED = "captured"
    DECLINED = "declined"
    REFUNDED = "refunded"
    REFUNDING = "refunding"  # recorded before the refund is asked for; its answer may not have come
    REFUND_FAILED = "refund_failed"  # the processor could not complete it: the money was not given back


class WebhookEndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"  # no delivery is sent to it; pending ones are cancelled when their turn comes


class DeliveryStatus(StrEnum):
    """A webhook delivery: one event to one endpoint."""

    PENDING = "pending"
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # every attempt failed
    CANCELLED = "cancelled"  # the endpoint was disabled or deleted before it was delivered


class EmailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # the server refused it, or every attempt failed


class CreatorSyncStatus(StrEnum):
    """What the last sync made of one CreatorIQ creator."""

    PENDING = "pending"  # recorded, its first sync not finished
    SYNCED = "synced"  # its contractor, job and application link are made
    FAILED = "failed"
    SKIPPED = "skipped"  # not to be synced (insurance exempt, or not accepted on the campaign)


class ImportStatus(StrEnum):
    """A contractor import (its workflow's progress; not stored in a column)."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"  # a batch failed for good; the batches before it stay imported
