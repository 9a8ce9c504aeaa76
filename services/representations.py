"""How each resource looks on the wire: API responses, and the ``data`` snapshot of events."""

import time
from typing import Any

from db.models import (
    CHARGE_DUE_UNKNOWN,
    ApiKey,
    ApplicationSession,
    Assignment,
    Bill,
    Contractor,
    CreatorIQConnection,
    CreatorIQCreator,
    EmailMessage,
    Entity,
    Event,
    InsuranceRequirement,
    Invoice,
    Job,
    JobCategory,
    Policy,
    Quote,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from domain.api_keys import key_status
from domain.application import Status, Step
from domain.bills import amount_remaining
from domain.certificate_review import describe
from domain.certificates import RequirementRules
from domain.statuses import PolicyStatus
from outbox.records import event_payload


def mask_tax_id(value: str | None) -> str | None:
    if not value:
        return value
    return "*" * max(len(value) - 4, 0) + value[-4:]


def entity(e: Entity) -> dict[str, Any]:
    return {
        "id": e.id,
        "object": "entity",
        "created": e.created,
        "name": e.name,
        "address": e.address,
        "coverage_limit": e.coverage_limit,
        "required_coverage": e.required_coverage or [],
    }


def insurance_requirement(r: InsuranceRequirement, rules: RequirementRules) -> dict[str, Any]:
    """``rules``: the requirement's stored rules as read by services.insurance_requirements.rules_of."""
    return {
        "id": r.id,
        "object": "insurance_requirement",
        "created": r.created,
        "name": r.name,
        "is_default": r.is_default,
        "coverages": [
            {
                "coverage": c.coverage.value,
                "minimum_limits": {k.value: v for k, v in c.minimum_limits.items()},
                "additional_insured": c.additional_insured,
                "waiver_of_subrogation": c.waiver_of_subrogation,
            }
            for c in rules.coverages
        ],
        "expiry": {
            "rule": rules.expiry.value,
            "minimum_days_left": rules.minimum_days_left or None,
        },
        "certificate_holder": rules.certificate_holder,
        "entity_ids": list(r.entity_ids or []),
        "category_codes": list(r.category_codes or []),
        "description": describe(rules),
    }


def contractor(c: Contractor) -> dict[str, Any]:
    return {
        "id": c.id,
        "object": "contractor",
        "created": c.created,
        "first_name": c.first_name,
        "middle_name": c.middle_name,
        "last_name": c.last_name,
        "email": c.email,
        "phone": c.phone,
        "company_name": c.company_name,
        "tax_identification": mask_tax_id(c.tax_identification),
        "address": c.address,
        "custom_metadata": c.custom_metadata or {},
        "withhold_premium": c.withhold_premium,
    }


def job_category(c: JobCategory, approved: bool) -> dict[str, Any]:
    return {
        "id": c.id,
        "object": "job_category",
        "category_code": c.id,
        "code": c.code,
        "name": c.name,
        "description": c.description,
        "approved": approved,
    }


def job(j: Job) -> dict[str, Any]:
    return {
        "id": j.id,
        "object": "job",
        "created": j.created,
        "name": j.name,
        "description": j.description,
        "entity": j.entity_id,
        "category_code": j.category_id,
        "wage": j.wage,
        "wage_type": j.wage_type,
        "years_experience": j.years_experience,
        "duration_hours": j.duration_hours,
        "address": j.address,
        "custom_metadata": j.custom_metadata or {},
        "withhold_premium": j.withhold_premium,
    }


def quote(q: Quote) -> dict[str, Any]:
    return {
        "id": q.id,
        "object": "quote",
        "created": q.created,
        "contractor": q.contractor_id,
        "job": q.job_id,
        "coverage_type": q.coverage_type,
        "effective_date": q.effective_date,
        "end_date": q.end_date,
        "work_state": q.work_state,
        "residence_state": q.residence_state,
        "eligible": q.eligible,
        "eligibility_message": q.eligibility_message,
        "net_rate": q.net_rate,
        "gl_net_rate": q.gl_net_rate,
        "wc_net_rate": q.wc_net_rate,
        "pl_net_rate": q.pl_net_rate,
        "quote_json": q.quote_json,
        "estimated_gross_pay": q.estimated_gross_pay,
        "premium_due": q.premium_due,
    }


def policy(p: Policy) -> dict[str, Any]:
    certificates = {"gl_coi_pdf_url": None, "wc_coi_pdf_url": None, **(p.certificates or {})}
    return {
        "id": p.id,
        "object": "policy",
        "created": p.created,
        "quote": p.quote_id,
        "contractor": p.contractor_id,
        "job": p.job_id,
        "status": p.status,
        "is_active": p.status == PolicyStatus.ACTIVE,
        "effective_date": p.effective_date,
        "expiration_date": p.expiration_date,
        "pdf_url": p.pdf_url,
        "certificates": certificates,
        "cancelled_at": p.cancelled_at,
    }


def webhook_endpoint(w: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": w.id,
        "object": "webhook_endpoint",
        "created": w.created,
        "url": w.url,
        "description": w.description,
        "events": w.events,
        "secret": w.secret,
        "previous_secret_expires_at": w.previous_secret_expires_at,
        "status": w.status,
    }


def webhook_delivery(d: WebhookDelivery, attempts: list[WebhookAttempt] | None = None) -> dict[str, Any]:
    body = {
        "id": d.id,
        "object": "webhook_delivery",
        "created": d.created,
        "event": d.event_id,
        "webhook_endpoint": d.endpoint_id,
        "status": d.status,
        "attempt_count": d.attempt_count,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "delivered_at": d.delivered_at,
        "failed_at": d.failed_at,
        "resend_of": d.resend_of,
    }
    if attempts is not None:
        body["attempts"] = [
            {
                "attempt": a.attempt,
                "attempted_at": int(a.attempted_at),
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "error": a.error,
            }
            for a in attempts
        ]
    return body


def email(m: EmailMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "object": "email",
        "created": m.created,
        "kind": m.kind,
        "recipient": m.recipient,
        "subject": m.subject,
        "status": m.status,
        "attempt_count": m.attempt_count,
        "sent_at": m.sent_at,
        "last_error": m.last_error,
        "related": m.related or {},
    }


def event(e: Event) -> dict[str, Any]:
    return event_payload(e)


def application_session(
    s: ApplicationSession,
    public_base_url: str,
    live_step: Step | None = None,
    live_status: Status | None = None,
) -> dict[str, Any]:
    status = live_status or s.status
    return {
        "id": s.id,
        "object": "insurance_application_session",
        "created": s.created,
        "url": f"{public_base_url.rstrip('/')}/apply/{s.token}",
        "step": live_step or s.step,
        "status": status,
        "expired": status == Status.EXPIRED,
        "expires_at": s.expires_at,
        "contractor": s.contractor_id,
        "quote": s.quote_id,
        "job": s.job_id,
        "policy": s.policy_id,
        "bill": s.bill_id,
        "is_general_opt_in": s.is_general_opt_in,
        "work_state": s.work_state,
        "general_opt_in_work_state": s.work_state if s.is_general_opt_in else None,
        "coverage_type": s.coverage_type,
        "premium": s.premium,
        "withhold_premium": s.withhold_premium,
        "success_url": s.success_url,
        "cancel_url": s.cancel_url,
        "completed_at": s.completed_at,
        "ended_reason": s.ended_reason,
    }


def assignment(a: Assignment) -> dict[str, Any]:
    body = {
        "id": a.id,
        "object": "assignment",
        "created": a.created,
        "contractor": a.contractor_id,
        "job": a.job_id,
        "policy": a.policy_id,
        "coverage_type": a.coverage_type,
        "effective_date": a.effective_date,
        "end_date": a.end_date,
        "bind": a.bind,
        "net_rate": a.net_rate,
        "premium": a.premium,
        "premium_collected": a.charged,
        "charge_due_at": None if a.cancelled or a.charge_due_at == CHARGE_DUE_UNKNOWN else a.charge_due_at,
        "status": a.status,
        "payer": a.payer,
        "coverage_path": a.coverage_path,
        "eligible": {"result": a.eligible_result, "message": a.eligible_message},
        "certificates": {"gl_coi_pdf_url": None, "wc_coi_pdf_url": None, **(a.certificates or {})},
        "application_session": a.application_session_id,
    }
    if a.cancelled:
        body |= {
            "cancelled": True,
            "cancellation_date": a.cancellation_date,
            "cancellation_reason": a.cancellation_reason,
        }
    return body


def invoice(i: Invoice) -> dict[str, Any]:
    return {
        "id": i.id,
        "object": "invoice",
        "created": i.created,
        "contractor": i.contractor_id,
        "job": i.job_id,
        "assignment": i.assignment_id,
        "gross_pay": i.gross_pay,
        "paycycle_startdate": i.paycycle_startdate,
        "paycycle_enddate": i.paycycle_enddate,
        "purchase_order_number": i.purchase_order_number,
        "premium_due": i.premium_due,
        "status": i.status,
        "paid_at": i.paid_at,
        "voided_at": i.voided_at,
    }


def creatoriq_connection(c: CreatorIQConnection, public_base_url: str) -> dict[str, Any]:
    """The API key itself is never shown: only its last characters."""
    return {
        "id": c.id,
        "object": "creatoriq_connection",
        "created": c.created,
        "api_key": c.api_key_hint,
        "category_code": c.category_code,
        "coverage_type": c.coverage_type,
        "entity": c.entity_id,
        "success_url": c.success_url,
        "cancel_url": c.cancel_url,
        "webhooks_subscribed": c.webhooks_subscribed,
        "webhook_url": f"{public_base_url.rstrip('/')}/integrations/creatoriq/webhooks/{c.id}",
        "last_polled_at": c.last_polled_at,
    }


def creatoriq_creator(
    c: CreatorIQCreator, application: ApplicationSession | None, public_base_url: str
) -> dict[str, Any]:
    return {
        "id": c.id,
        "object": "creatoriq_creator",
        "created": c.created,
        "campaign_id": c.campaign_id,
        "publisher_id": c.publisher_id,
        "status": c.status,
        "reasons": c.reasons,
        "contractor": c.contractor_id,
        "job": c.job_id,
        "quote": c.quote_id,
        "application_session": c.application_session_id,
        "application_url": f"{public_base_url.rstrip('/')}/apply/{application.token}"
        if application
        else None,
        "application_status": application.status if application else None,
        "sync_count": c.sync_count,
        "last_synced_at": c.last_synced_at,
    }


def bill(b: Bill) -> dict[str, Any]:
    return {
        "id": b.id,
        "object": "bill",
        "created": b.created,
        "contractor": b.contractor_id,
        "job": b.job_id,
        "policy": b.policy_id,
        "assignment": b.assignment_id,
        "amount_due": b.amount_due,
        "amount_paid": b.amount_paid or 0,
        "amount_remaining": amount_remaining(b.amount_due, b.amount_paid),
        "bill_date": b.bill_date,
        "due_date": b.due_date,
        "purchase_order_number": b.purchase_order_number,
        "po_contact_name": b.po_contact_name,
        "po_contact_email": b.po_contact_email,
        "line_items": b.line_items,
        "status": b.status,
        "paid_at": b.paid_at,
        "payment_reference": b.payment_reference,
        "pdf_url": b.pdf_url,
    }


def api_key(k: ApiKey, key: str | None = None) -> dict[str, Any]:
    """An API key as its owner sees it: never the key, except ``key`` once, right after it was made."""
    body = {
        "id": k.public_id,
        "object": "api_key",
        "created": k.created,
        "name": k.name,
        "environment": k.environment,
        "key_hint": k.key_hint,
        "status": key_status(k.revoked_at, k.expires_at, int(time.time())),
        "last_used_at": k.last_used_at,
        "expires_at": k.expires_at,
        "revoked_at": k.revoked_at,
    }
    if key is not None:
        body["key"] = key
    return body
