"""Every recorded history in tests/histories/ must replay against today's workflow code.

A change that would break workflows already running in production fails here; put it behind
``workflow.patched()``. Re-record with ``make histories`` after adding a scenario.
"""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_recorded() -> None:
    assert {p.stem for p in HISTORIES} >= {
        "webhook_retried_then_delivered",
        "webhook_failed",
        "outbox_sweep",
        "email_retried_then_sent",
        "application_card_paid",
        "application_expired",
        "application_hold_renewed",
        "application_general_opt_in",
        "application_withheld",
        "assignment_adjusted_before_charge",
        "assignment_adjusted_after_charge",
        "assignment_remit",
        "assignment_declined_then_recovered",
        "assignment_cancelled_after_charge",
        "application_handed_over_to_assignment",
        "engagement_first_job_refunded_then_charged",
        "engagement_declined_increase_then_recovered",
        "engagement_standard_path_cancelled_before_application",
        "assignment_invoice_put_back_and_forth",
        "assignment_repeat_from_the_application_on_file",
        "application_manual_review_approved",
        "application_manual_review_declined",
        "application_manual_review_expired",
        "application_ineligible_for_claims.before_manual_review",
        "contractor_import_created",
        "assignment_adjusted_after_charge.with_money_activities",
        "assignment_cancelled_after_charge.with_money_activities",
        "assignment_declined_then_recovered.with_money_activities",
        "application_hold_renewed.before_hold_renewal_on_its_own",
        "assignment_rebound_before_charge",
        "assignment_charge_authenticated",
        "application_capture_refused_back_to_card",
        "application_renewal_refused_kept_hold",
        "engagement_refund_failed_owed_back",
        "certificate_reminded_then_lapsed",
        "certificate_superseded",
        "application_reminders_swept_for_a_day",
        "assignment_remit.with_bill_ids_one_shape",
        "assignment_increase_authenticated",
        "application_hold_authenticated",
        "assignment_charge_authenticated.with_waiting_charges_closed",
        "assignment_confirmed_charge_then_lowered",
        "assignment_card_kept_while_authentication_waits",
        "assignment_new_card_supersedes_waiting_charge",
    }


@pytest.mark.parametrize("history", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(history: Path) -> None:
    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER, data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(WorkflowHistory.from_json(history.stem, history.read_text()))
