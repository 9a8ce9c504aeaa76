"""A reviewer's decisions on a certificate the review flagged: approve one failed rule with a reason (kept on
the rule as its Waiver), approve the certificate once every failed rule is approved, or deny it with a reason.

Only members who may operate (admins and operators, domain/roles.py) decide; the dashboard checks the role,
and the service checks everything else. Each decision is one transaction: the change, its audit entry
(who, what, before and after) and, for approve and deny, the ``certificate.approved`` / ``certificate.denied``
event whose webhooks go out as every other event's do. A decision that makes no sense is refused with a
DomainError and changes nothing: another organization's or environment's certificate is not found, a
certificate a newer upload replaced, one not yet reviewed or unreadable (``error``), one already decided.
"""

import time
from dataclasses import replace

from sqlalchemy import update
from sqlalchemy.orm import Session

from common.settings import Settings
from db.engine import rows_changed
from db.models import Certificate
from domain.certificates import CertificateStatus, RuleResult, Waiver
from domain.errors import conflict, invalid, not_found
from outbox.records import record_event
from services.audit import Actor, record_change
from services.certificate_records import results_from_json, results_to_json
from services.certificates import get_certificate, present
from services.tenancy import Tenant

REASON_MAX = 500
# The audit actions a certificate's decision history is made of (services.certificate_overview reads them).
RULE_APPROVED, APPROVED, DENIED = "certificate.rule_approved", "certificate.approved", "certificate.denied"
DECISIONS = (RULE_APPROVED, APPROVED, DENIED)
# What a reviewer may decide on: a flagged certificate; an approved one may still be denied (a forgery the
# rules missed). Pending and processing ones are not reviewed yet; an error is a file that could not be read.
DECIDABLE = {CertificateStatus.FLAGGED}
DENIABLE = {CertificateStatus.FLAGGED, CertificateStatus.APPROVED}


def _hold(session: Session, row: Certificate) -> None:
    """Two reviewers at once: the second waits until the first has committed, then reads what it decided.
    A write that changes nothing takes the row (PostgreSQL) or the database's write lock (SQLite, whose
    reads before it ran outside any transaction), and the row is read again under it."""
    session.execute(
        update(Certificate)
        .where(Certificate.id == row.id)
        .values(status=Certificate.status)
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)


def rule_results(row: Certificate) -> list[RuleResult]:
    return results_from_json(row.review)


def _reason(reason: str | None, required: bool) -> str:
    text = " ".join((reason or "").split())  # one line: no layout tricks in the history
    if required and not text:
        raise invalid("reason: say why (it is kept with the decision)", "reason", "reason_required")
    if len(text) > REASON_MAX:
        raise invalid(f"reason: at most {REASON_MAX} characters", "reason", "reason_too_long")
    return text


def _refuse_undecidable(row: Certificate, allowed: set[CertificateStatus], doing: str) -> None:
    if row.superseded_by:
        raise conflict(
            "certificate_superseded",
            f"This certificate was replaced by a newer upload ({row.superseded_by}): decide on that one.",
        )
    if row.lapsed_at is not None:
        raise conflict("certificate_lapsed", "This certificate's coverage has lapsed: ask for a renewed one.")
    if row.status in allowed:
        return
    why = {
        CertificateStatus.PENDING: "it has not been reviewed yet",
        CertificateStatus.PROCESSING: "it is still being reviewed",
        CertificateStatus.ERROR: "its file could not be read; ask the contractor for a new upload",
        CertificateStatus.DENIED: "it is already denied",
        CertificateStatus.APPROVED: "it is already approved",
        CertificateStatus.FLAGGED: "it is flagged",
    }[row.status]
    raise conflict("certificate_not_decidable", f"This certificate cannot be {doing}: {why}.")


def approve_rule(
    session: Session, tenant: Tenant, certificate_id: str, rule: str, reason: str | None, actor: Actor
) -> Certificate:
    """Approve one failed rule of a flagged certificate, with the reason (required)."""
    row = get_certificate(session, tenant, certificate_id)
    _hold(session, row)
    _refuse_undecidable(row, DECIDABLE, "changed")
    why = _reason(reason, required=True)
    results = rule_results(row)
    index = next((i for i, r in enumerate(results) if r.rule == rule), None)
    if index is None:
        raise not_found("invalid_rule", "rule", rule)
    found = results[index]
    if found.passed:
        raise conflict("rule_passed", f"The rule '{found.description}' passed: there is nothing to approve.")
    if found.waiver is not None:
        raise conflict("rule_already_approved", f"The rule '{found.description}' is already approved.")
    waiver = Waiver(by=actor.label, at=int(time.time()), reason=why)
    results[index] = replace(found, waiver=waiver)
    row.review = results_to_json(results)
    record_change(
        session,
        tenant,
        actor,
        RULE_APPROVED,
        row.id,
        rule=rule,
        before={"approved": False},
        after={"approved": True, "reason": why},
    )
    session.commit()
    return row


def _decide(
    session: Session, row: Certificate, to: CertificateStatus, actor: Actor, reason: str
) -> CertificateStatus:
    """Move the certificate from the status it was read with, or refuse if another decision came first."""
    before = row.status
    at = int(time.time())
    moved = session.execute(
        update(Certificate)
        .where(Certificate.id == row.id, Certificate.status == before)
        .values(status=to, decided_by=actor.label, decided_at=at, decision_reason=reason or None)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(moved) != 1:
        session.rollback()
        raise conflict("certificate_decided", "Another decision on this certificate came first: reload it.")
    session.refresh(row)
    return before


def approve(
    session: Session,
    settings: Settings,
    tenant: Tenant,
    certificate_id: str,
    reason: str | None,
    actor: Actor,
) -> Certificate:
    """Approve a flagged certificate whose every failed rule a reviewer approved."""
    row = get_certificate(session, tenant, certificate_id)
    _hold(session, row)
    _refuse_undecidable(row, DECIDABLE, "approved")
    why = _reason(reason, required=False)
    open_rules = [r.description for r in rule_results(row) if not r.satisfied]
    if open_rules:
        raise conflict(
            "rules_not_approved",
            f"Approve each failed rule first (with its reason); still failed: {'; '.join(open_rules)}.",
        )
    before = _decide(session, row, CertificateStatus.APPROVED, actor, why)
    _record(session, settings, tenant, row, actor, APPROVED, before, why)
    return row


def deny(
    session: Session,
    settings: Settings,
    tenant: Tenant,
    certificate_id: str,
    reason: str | None,
    actor: Actor,
) -> Certificate:
    """Deny a flagged (or approved) certificate, with the reason (required): only a reviewer denies."""
    row = get_certificate(session, tenant, certificate_id)
    _hold(session, row)
    _refuse_undecidable(row, DENIABLE, "denied")
    why = _reason(reason, required=True)
    before = _decide(session, row, CertificateStatus.DENIED, actor, why)
    _record(session, settings, tenant, row, actor, DENIED, before, why)
    return row


def _record(
    session: Session,
    settings: Settings,
    tenant: Tenant,
    row: Certificate,
    actor: Actor,
    action: str,
    before: CertificateStatus,
    reason: str,
) -> None:
    record_change(
        session,
        tenant,
        actor,
        action,
        row.id,
        before={"status": before.value},
        after={"status": row.status.value, "reason": reason},
    )
    data = present(session, settings, row, ["review_results"])  # as the review's own events carry it
    record_event(session, tenant.organization_id, tenant.environment, action, data)
    session.commit()
