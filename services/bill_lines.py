"""A bill's lines with what each is for (the job, its coverage and period): as a workflow's bill is issued
(``issued_lines``), and as a bill issued before lines carried them is shown (``shown_lines``)."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Assignment, Bill, Job, Policy, Quote
from documents.bill import LineItem
from domain.bill_lines import BilledCoverage, coverage_words, line_description, line_kind, period_words


def billed_coverage(
    session: Session, job_id: str | None, policy_id: str | None, assignment_id: str | None
) -> BilledCoverage:
    """What a bill for this assignment (else policy, else job) is for."""
    coverage: tuple[str, ...] = ()
    start = end = None
    if assignment_id:
        assignment = session.scalar(select(Assignment).where(Assignment.id == assignment_id))
        if assignment is not None:
            job_id = job_id or assignment.job_id
            coverage = tuple(assignment.coverage_type or ())
            start, end = assignment.effective_date, assignment.end_date
    elif policy_id:
        policy = session.scalar(select(Policy).where(Policy.id == policy_id))
        if policy is not None:
            job_id = job_id or policy.job_id
            quote = session.scalar(select(Quote).where(Quote.id == policy.quote_id))
            coverage = tuple(quote.coverage_type or ()) if quote is not None else ()
            start, end = policy.effective_date, policy.expiration_date
    job = session.scalar(select(Job).where(Job.id == job_id)) if job_id else None
    return BilledCoverage(job_id, job.name if job else None, coverage, start, end)


def issued_lines(billed: BilledCoverage, requested: list[tuple[str, int]]) -> list[LineItem]:
    """The lines a bill is issued with: each names its job, coverage and period in its description (the
    PDF's words) and as fields (the API's ``line_items``)."""
    return [
        LineItem(
            line_description(line_kind(description), billed),
            amount,
            billed.job_id,
            billed.coverage,
            billed.period_start,
            billed.period_end,
        )
        for description, amount in requested
    ]


@dataclass(frozen=True)
class ShownLine:
    what: str
    job_id: str | None
    job_name: str | None
    coverage: str
    period: str
    amount: int


def shown_lines(session: Session, bill: Bill) -> list[ShownLine]:
    """The bill's lines for its page: what each is for, also on a bill issued before lines said so."""
    billed = billed_coverage(session, bill.job_id, bill.policy_id, bill.assignment_id)
    shown = []
    for line in bill.line_items or []:
        description = str(line.get("description", ""))
        has_own = "coverage_type" in line
        coverage = tuple(line.get("coverage_type") or ()) if has_own else billed.coverage
        start = line.get("period_start") if has_own else billed.period_start
        end = line.get("period_end") if has_own else billed.period_end
        shown.append(
            ShownLine(
                what=line_kind(description) if not has_own else description.split(":", 1)[0],
                job_id=billed.job_id,
                job_name=billed.job_name,
                coverage=coverage_words(coverage),
                period=period_words(start, end),
                amount=int(line.get("amount", 0)),
            )
        )
    return shown
