"""The activities the worker registers, built around their shared resources."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from activities.application_review import ApplicationReviewActivities
from activities.applications import ApplicationActivities
from activities.assignments import AssignmentActivities
from activities.certificates import CertificateActivities
from activities.contractor_import import ContractorImportActivities
from activities.creatoriq import CreatorIQActivities
from activities.documents import DocumentActivities
from activities.emails import EmailActivities
from activities.events import EventActivities
from activities.lifecycle import LifecycleActivities
from activities.outbox import OutboxActivities
from activities.reminders import ReminderActivities
from activities.webhooks import WebhookActivities
from common import encryption
from common.settings import Settings
from common.startup import check_settings
from integrations.stripe_gateway import StripeGateway
from outbox.dispatch import Dispatcher


def build_activities(
    session_factory: sessionmaker[Session], settings: Settings, dispatcher: Dispatcher
) -> list[Callable[..., Any]]:
    check_settings(settings)  # each environment's Stripe keys of its own mode, usable encryption keys
    encryption.install(settings)  # the keys the sealed columns (CreatorIQ keys, webhook secrets) use
    events = EventActivities(session_factory, dispatcher)
    webhooks = WebhookActivities(
        session_factory, settings.webhook_timeout_seconds, settings.sandbox_private_webhook_targets
    )
    emails = EmailActivities(session_factory, settings)
    outbox = OutboxActivities(dispatcher)
    documents = DocumentActivities(session_factory, settings)
    gateway = StripeGateway(settings)  # the sandbox's; each activity takes its row's environment's
    applications = ApplicationActivities(session_factory, settings, gateway, dispatcher)
    review = ApplicationReviewActivities(session_factory, settings, dispatcher)
    assignments = AssignmentActivities(session_factory, settings, gateway, dispatcher)
    creatoriq = CreatorIQActivities(session_factory, settings, dispatcher)
    lifecycle = LifecycleActivities(session_factory, dispatcher, settings)
    contractor_import = ContractorImportActivities(session_factory, settings)
    certificates = CertificateActivities(session_factory, settings, dispatcher)
    reminders = ReminderActivities(session_factory, settings, dispatcher)
    return [
        events.record_event,
        webhooks.deliver_webhook,
        webhooks.give_up_webhook_delivery,
        emails.send_email,
        emails.give_up_email,
        outbox.dispatch_undispatched,
        lifecycle.sweep_lifecycle,
        documents.issue_certificates,
        documents.issue_bill,
        applications.record_progress,
        applications.save_details,
        applications.save_answers,
        applications.save_signature,
        applications.authorize_card,
        applications.take_authenticated_hold,
        applications.release_hold,
        applications.capture_payment,
        applications.bind_policy,
        applications.complete_application,
        applications.send_payment_confirmation,
        applications.hand_over_engagement,
        applications.payment_method_of_session,
        review.record_review,
        assignments.bind_assignment_coverage,
        assignments.rebind_assignment_terms,
        assignments.charge_card,
        assignments.close_waiting_charge,
        assignments.refund_card,
        assignments.record_assignment_progress,
        assignments.send_assignment_email,
        creatoriq.fetch_creator,
        creatoriq.find_accepted_creators,
        creatoriq.request_syncs,
        creatoriq.expire_application,
        creatoriq.connections_to_poll,
        creatoriq.apply_sync,
        contractor_import.import_contractor_batch,
        contractor_import.record_contractor_import_finished,
        certificates.read_certificate,
        certificates.evaluate_certificate,
        certificates.request_certificate_renewal,
        certificates.record_certificate_lapse,
        reminders.send_application_reminders,
    ]
