"""Certificates and bills, issued from workflows (safe to retry: each checks what it already issued)."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from common.settings import Settings
from contracts.delivery import BillRequest, IssuedBill
from db.models import Policy
from documents.issuing import document_store, issue_bill, issue_policy_certificates
from services.bill_lines import billed_coverage, issued_lines
from services.billing import billed_job


class DocumentActivities:
    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._sessions, self._settings = session_factory, settings
        self._store = document_store(settings)

    @activity.defn
    def issue_certificates(self, policy_id: str) -> dict[str, str]:
        with self._sessions() as session:
            policy = session.scalar(select(Policy).where(Policy.id == policy_id))
            if policy is None:
                raise ApplicationError(f"no policy {policy_id}", non_retryable=True)
            issue_policy_certificates(session, self._store, self._settings, policy)
            session.commit()
            return dict(policy.certificates)

    @activity.defn
    def issue_bill(self, request: BillRequest) -> IssuedBill:
        """The bill names the job it is for (its PO number and contact come from the job's metadata) and the
        PO number of the assignment's newest invoice, which wins over the job's; each line says the job, the
        coverage and the period it is for."""
        with self._sessions() as session:
            job_id, purchase_order = billed_job(
                session, request.job_id, request.policy_id, request.assignment_id
            )
            bill = issue_bill(
                session,
                self._store,
                self._settings,
                organization_id=request.organization_id,
                environment=request.environment,
                contractor_id=request.contractor_id,
                job_id=job_id,
                purchase_order_number=purchase_order,
                policy_id=request.policy_id,
                assignment_id=request.assignment_id,
                bill_id=request.bill_id,
                line_items=issued_lines(
                    billed_coverage(session, job_id, request.policy_id, request.assignment_id),
                    [(line.description, line.amount) for line in request.lines],
                ),
            )
            session.commit()
            assert bill.pdf_url
            return IssuedBill(bill_id=bill.id, amount_due=bill.amount_due, pdf_url=bill.pdf_url)
