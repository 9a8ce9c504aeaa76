"""A program's history for the overview's tests: applications and covered assignments as the service leaves
them, written straight into the database at chosen past times (the API refuses coverage that starts in the
past, and the overview is about what happened). Every row is marked dispatched, so no workflow starts."""

import time
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from common.ids import new_document_token
from db.models import (
    ApplicationSession,
    Assignment,
    Contractor,
    Invoice,
    Job,
    JobCategory,
    Policy,
    Quote,
)
from domain.assignment_coverage import CoveragePath
from domain.payer import Payer

DAY = 86_400


@dataclass(frozen=True)
class Tenant:
    organization_id: str
    environment: str


def category_id(factory: sessionmaker[Session], code: str) -> str:
    with factory() as session:
        found = session.query(JobCategory).filter_by(code=code).one()
        return found.id


class History:
    """Rows of one organization's environment, added in one session (commit with ``save``)."""

    def __init__(self, factory: sessionmaker[Session], organization_id: str, environment: str) -> None:
        self.session = factory()
        self.owner = Tenant(organization_id, environment)

    def contractor(self, home: str = "CA") -> str:
        row = Contractor.new(
            self.owner,
            first_name="Sam",
            last_name="Rivera",
            email=f"sam.{time.time_ns()}@example.com",
            phone="5551234567",
            address={"line1": "1 Main St", "locality": "Town", "region": home, "postalcode": "94102"},
            custom_metadata={},
        )
        self.session.add(row)
        return row.id

    def job(self, category: str, wage: int, state: str | None = "CA", wage_type: str = "flatfee") -> str:
        row = Job.new(
            self.owner,
            name="Shoot",
            description="A day on location",
            entity_id="en_history",
            category_id=category,
            wage=wage,
            wage_type=wage_type,
            address={"region": state} if state else None,
            custom_metadata={},
        )
        self.session.add(row)
        return row.id

    def application(self, contractor: str, job: str | None, state: str, created: int, complete: bool) -> str:
        row = ApplicationSession.new(
            self.owner,
            created=created,
            token=new_document_token(),
            contractor_id=contractor,
            job_id=job,
            is_general_opt_in=job is None,
            work_state=state,
            coverage_type=["workers-comp"],
            success_url="https://platform.example/done",
            cancel_url="https://platform.example/done",
            status="APPLICATION_COMPLETE" if complete else "IN_PROGRESS",
            step="application_complete" if complete else "application_questions",
            premium=0,
            withhold_premium=True,
            expires_at=created + 7 * DAY,
            dispatched=True,
            answers={},
            signature={},
        )
        self.session.add(row)
        return row.id

    def covered(
        self,
        contractor: str,
        job: str,
        state: str,
        start: int,
        premium: int,
        status: str = "active",
        final_pay: int | None = None,
        days: int = 30,
    ) -> str:
        """A covered assignment (with the quote and policy behind it), and its final pay when given."""
        quote = Quote.new(
            self.owner,
            created=start,
            contractor_id=contractor,
            job_id=job,
            coverage_type=["workers-comp"],
            effective_date=start,
            end_date=start + days * DAY,
            work_state=state,
            residence_state=state,
            eligible=True,
            net_rate=100,
            gl_net_rate=0,
            wc_net_rate=100,
            pl_net_rate=0,
            quote_json={},
            estimated_gross_pay=0,
            premium_due=premium,
        )
        policy = Policy.new(
            self.owner,
            created=start,
            quote_id=quote.id,
            contractor_id=contractor,
            job_id=job,
            status="active",
            effective_date=start,
            expiration_date=start + days * DAY,
            certificates={},
        )
        assignment = Assignment.new(
            self.owner,
            created=start,
            contractor_id=contractor,
            job_id=job,
            policy_id=policy.id,
            coverage_type=["workers-comp"],
            effective_date=start,
            end_date=start + days * DAY,
            bind=True,
            coverage_path=CoveragePath.EXISTING_POLICY,
            eligible_result=True,
            eligible_message="",
            payer=Payer.REMIT,
            net_rate=100,
            premium=premium,
            status=status,
            charged=premium,
            certificates={},
            cancelled=status == "cancelled",
            dispatched=True,
        )
        self.session.add_all([quote, policy, assignment])
        if final_pay is not None:
            for pay, voided in ((final_pay // 2, False), (final_pay * 3, True), (final_pay, False)):
                self.session.add(
                    Invoice.new(
                        self.owner,
                        created=start,
                        contractor_id=contractor,
                        job_id=job,
                        assignment_id=assignment.id,
                        gross_pay=pay,
                        paycycle_startdate=start,
                        paycycle_enddate=start + DAY,
                        premium_due=premium,
                        status="void" if voided else "paid",
                    )
                )
                self.session.flush()  # the newest invoice is the one added last
        return assignment.id

    def save(self) -> None:
        self.session.commit()
        self.session.close()
