"""What a dashboard page says when a service refuses: the refusal in the words of the people who use the
dashboard (operations and finance staff), naming what to do and linking to where to do it. The API keeps its
own messages (``DomainError.message``); this is the one place the dashboard turns a refusal into page words,
and ``api/dashboard/rendering.refused`` is the one caller.

A refusal is looked up by its code and field (then by its code alone); the facts a service gives with it
(``DomainError.facts``) say which rule it broke. A refusal without words of its own here is said from what it
is: a form's field problems in people's words (``describe_for_people``), an object not found as "not among
yours" with the list to pick from, a field's refusal by the field's label, without the API's ``field:``."""

from collections.abc import Callable
from datetime import UTC, datetime

from markupsafe import Markup, escape

from api.dashboard import labels
from common.validation import LABELS, describe_for_people
from domain.errors import DomainError, Refusal
from notifications.render import money

BILLING_DETAILS_FORM = "/dashboard/settings#billing-details"
DETAIL_WORDS = {
    "billing_contact_name": "billing contact's name",
    "billing_contact_email": "billing contact's email",
    "billing_address": "billing address",
}
# A field as its form labels it (beyond the people's labels of common.validation).
FIELD_WORDS = {
    **LABELS,
    "amount": "amount",
    "reference": "reference",
    "gross_pay": "gross pay",
    "wage": "wage",
    "effective_date": "start date",
    "end_date": "end date",
    "paycycle_startdate": "pay period start",
    "paycycle_enddate": "pay period end",
    "purchase_order_number": "PO number",
    "coverage_type": "coverage",
    "contractor": "contractor",
    "job": "job",
    "url": "URL",
    "name": "name",
    "api_key": "API key",
    "password": "password",
    "category_code": "category",
    "events": "events",
}
# What was not found, in words, and the list to pick one from.
NOT_FOUND_WORDS: dict[str, tuple[str, str, str]] = {
    "contractor": ("contractor", "Contractors", "/dashboard/contractors"),
    "job": ("job", "Jobs & entities", "/dashboard/jobs"),
    "entity": ("entity", "Jobs & entities", "/dashboard/jobs"),
    "assignment": ("assignment", "Assignments", "/dashboard/assignments"),
    "active policy": ("active policy", "Contractors", "/dashboard/contractors"),
    "bill": ("bill", "Billing", "/dashboard/billing"),
    "session": ("application", "Contractors", "/dashboard/contractors"),
    "webhook endpoint": ("webhook endpoint", "Webhooks", "/dashboard/webhooks"),
    "API key": ("API key", "API keys", "/dashboard/api-keys"),
}


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _link(href: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(href, text)


def _day(ts: object) -> str:
    if not isinstance(ts, int):
        return "its current end date"
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%B} {moment.day}, {moment.year}"


def _reminder_days(error: DomainError) -> Markup:
    settings = _link("/dashboard/settings#h-reminders", "Settings")
    if error.facts.get("rule") == "too_late":
        latest = error.facts.get("latest")
        choose = (
            Markup("choose {} day{} or fewer in {}, or Never").format(
                latest, "" if latest == 1 else "s", settings
            )
            if isinstance(latest, int)
            else Markup("choose Never in {}").format(settings)
        )
        return Markup(
            "A reminder after that many days would never be sent: an application's link works for {} and no "
            "reminder goes once it has expired. To remind contractors, {}."
        ).format(error.facts.get("lifetime"), choose)
    said = Markup("Choose after how many days contractors are reminded from the list in {}, or Never.")
    return said.format(settings)


def _billing_details_needed(error: DomainError) -> Markup | None:
    """Only the details that are missing, and the form that adds them (or, when a change would remove
    them, what to do first)."""
    fields = error.facts.get("missing")
    if not isinstance(fields, list):
        return None  # another refusal of the same field: said from what it is
    missing = _listed([DETAIL_WORDS[f] for f in fields if f in DETAIL_WORDS] or list(DETAIL_WORDS.values()))
    if error.facts.get("removing"):
        return Markup(
            "Your organization is billed for premiums, so its {} cannot be removed: stop withholding "
            "premiums in {} first."
        ).format(missing, _link("/dashboard/settings#h-withhold", "Settings"))
    return Markup("Add your organization's {} in {} before billing premiums to the organization.").format(
        missing, _link(BILLING_DETAILS_FORM, "Settings")
    )


PICKED_PLACES = {"contractor": ("Contractors", "/dashboard/contractors"), "job": ("Jobs", "/dashboard/jobs")}


def _not_named(error: DomainError) -> Markup | None:
    """A contractor or job field whose text names none or several (services.pickers): what was typed, the
    matches by name, and what to do."""
    kind = "contractor" if error.code.endswith("contractor") else "job"
    typed = str(error.facts.get("typed", ""))
    choices = error.facts.get("choices")
    listed = choices if isinstance(choices, list) else []
    named = [f"{c['label']}" + (f" ({c['detail']})" if c.get("detail") else "") for c in listed]
    place, href = PICKED_PLACES[kind]
    if not named:
        return Markup("No {} matches “{}”. Check the spelling, or find it under {}.").format(
            kind, typed, _link(href, place)
        )
    return Markup("Several {}s match “{}”: {}. Tick the one you mean below, and send the form again.").format(
        kind, typed, "; ".join(named)
    )


def _payment_too_large(error: DomainError) -> Markup | None:
    remaining = error.facts.get("remaining")
    if not isinstance(remaining, int):
        return None
    return Markup(
        "That is more than is still due on this bill ({}). Enter at most {} under {}: a bill is paid once "
        "its payments cover it."
    ).format(money(remaining), money(remaining), _link("#h-pay", "Record a payment"))


def _not_in_dollars(error: DomainError) -> Markup | None:
    if error.facts.get("rule") != "dollars":
        return None
    label = FIELD_WORDS.get(error.field or "", "amount")
    return Markup("Type the {} in dollars, e.g. 1200 or 1,200.50, and send the form again.").format(label)


def _amount(error: DomainError) -> Markup | None:
    return _payment_too_large(error) or _not_in_dollars(error)


def _bill_paid(_error: DomainError) -> Markup:
    return Markup("This bill is already paid: nothing more is due on it. See your {}.").format(
        _link("/dashboard/billing?status=paid", "paid bills")
    )


def _bill_void(_error: DomainError) -> Markup:
    return Markup(
        "This bill was voided: nothing is due on it, so there is no payment to record. See {}."
    ).format(_link("/dashboard/billing?status=open", "the open bills"))


def _coverage_dates(error: DomainError) -> Markup | None:
    rule = error.facts.get("rule")
    again = Markup(" in the form and send it again.")
    said = {
        "past": "The start date is in the past: choose today or a later day",
        "before_start": "The end date is before the start date: choose an end date after the start date",
        "latest": "The end date is too far in the future: choose an end date within a year of the start date",
        "max_term": "Coverage lasts at most one year: choose an end date within a year of the start date",
    }.get(str(rule))
    if said is not None:
        return escape(said) + again
    if rule == "shortened":
        return Markup(
            "Coverage cannot be shortened: choose an end date after {}. To stop coverage that has not "
            "started, cancel the assignment instead (under {})."
        ).format(_day(error.facts.get("end_date")), _link("#h-change", "Change the assignment"))
    return None


def _job_assignment(error: DomainError) -> Markup | None:
    """Cancelling or extending an assignment (the API names it by its job)."""
    if error.facts.get("rule") == "started":
        return Markup(
            "This assignment has started, so it can no longer be cancelled: its coverage runs to its end "
            "date. To end it sooner, report its final pay under {}."
        ).format(_link("#h-invoices", "Final pay"))
    status = error.facts.get("status")
    if status is not None:
        return Markup(
            "This assignment's status is “{}”: only an upcoming or active assignment can be extended. To "
            "cover the contractor again, create a new assignment in {}."
        ).format(labels.words(status, "assignment"), _link("/dashboard/assignments#h-new", "Assignments"))
    return None


def _no_coverage_to_invoice(error: DomainError) -> Markup:
    reason = error.facts.get("reason")
    if reason == "application":
        why = "the contractor has not finished their insurance application yet"
        then = Markup("Report it once the application is complete (see the {}).").format(
            _link("/dashboard/contractors", "contractor's page")
        )
    else:
        why = "the assignment's coverage is not in place (it was not bound)"
        then = Markup("To cover the contractor, create an assignment with coverage bound in {}.").format(
            _link("/dashboard/assignments#h-new", "Assignments")
        )
    return Markup("Final pay can be reported only for an assignment with coverage: {}. {}").format(why, then)


def _application_ended(_error: DomainError) -> Markup:
    return Markup(
        "This application has already ended, so there is nothing to do to it. To let the contractor apply "
        "again, send them a new application from their page in {}."
    ).format(_link("/dashboard/contractors", "Contractors"))


def _application_complete(_error: DomainError) -> Markup:
    return Markup("This application is already complete: the contractor's coverage is under {}.").format(
        _link("#h-policies", "Policies and certificates")
    )


def _creatoriq_key(_error: DomainError) -> Markup:
    return Markup(
        "CreatorIQ did not accept this API key. Copy the key again from your CreatorIQ account and paste it "
        "under {}."
    ).format(_link("/dashboard/settings#h-ciq", "CreatorIQ"))


def _unknown_column(error: DomainError) -> Markup | None:
    column = error.facts.get("unknown_column")
    if not isinstance(column, str):
        return None
    return Markup(
        "The column \u201c{}\u201d is not one we know. Rename it to one of the template's columns (or to "
        "\u201ccustom_metadata.{}\u201d to keep it as a note on each contractor), or delete it, then upload "
        "the file again. {}"
    ).format(column, column, _link("/dashboard/contractors/upload/template.csv", "Download the template"))


def _category_missing(_error: DomainError) -> Markup:
    return Markup(
        "Choose the job's category in the form: the list holds those approved for your organization."
    )


def _category_not_approved(error: DomainError) -> Markup:
    name = error.facts.get("category_name")
    return Markup(
        "The category{} is not approved for your organization: choose one from the form's list, or ask us "
        "to approve it."
    ).format(Markup(" “{}”").format(name) if isinstance(name, str) else "")


# (code, field) -> the page words for that refusal (None: it has none, it is said from what it is);
# (code, None) also answers that code for any field.
WORDS: dict[tuple[str, str | None], Callable[[DomainError], Markup | None]] = {
    ("invalid_input", "application_reminder_days"): _reminder_days,
    ("invalid_input", "withhold_premium"): _billing_details_needed,
    ("invalid_input", "amount"): _amount,
    ("invalid_input", "gross_pay"): _not_in_dollars,
    ("invalid_input", "wage"): _not_in_dollars,
    ("bill_already_paid", None): _bill_paid,
    ("bill_void", None): _bill_void,
    ("effective_date_invalid", "effective_date"): _coverage_dates,
    ("end_date_invalid", "end_date"): _coverage_dates,
    ("invalid_input", "job_id"): _job_assignment,
    ("no_active_policy", None): _no_coverage_to_invoice,
    ("session_expired", None): _application_ended,
    ("application_already_complete", None): _application_complete,
    ("invalid_creatoriq_api_key", "api_key"): _creatoriq_key,
    ("invalid_input", "file"): _unknown_column,
    ("missing_job_category_code", "category_code"): _category_missing,
    ("job_category_not_approved", "category_code"): _category_not_approved,
    **{(f"{how}_{kind}", kind): _not_named for how in ("no_such", "ambiguous") for kind in PICKED_PLACES},
}


def _not_found(error: DomainError) -> Markup | None:
    kind = error.facts.get("kind")
    if not isinstance(kind, str):
        return None
    if kind == "assignment for job":  # cancelling or extending: the API names an assignment by its job
        return Markup(
            "This job has no current assignment (it was cancelled or replaced), so there is nothing to "
            "change here: see its assignments in {}."
        ).format(_link("/dashboard/assignments", "Assignments"))
    what, page, href = NOT_FOUND_WORDS.get(kind, (kind, "the dashboard", "/dashboard"))
    return Markup(
        "This {} is not one of your organization's here (it may have been removed, or belong to the other "
        "environment): choose one from {}."
    ).format(what, _link(href, page))


def _field_problem(error: DomainError) -> Markup | None:
    """A refusal of one field ("end_date: …"): the field by its label, and where to correct it."""
    field = error.field or ""
    prefix = f"{field}: "
    if not field or not error.message.startswith(prefix):
        return None
    label = FIELD_WORDS.get(field.rsplit(".", 1)[-1], field.replace("_", " ").replace(".", " "))
    said = error.message.removeprefix(prefix)
    if said == "cannot be removed":
        return Markup("The {} cannot be empty: fill it in and send the form again.").format(label)
    return Markup("{}: {}. Correct it in the form and send it again.").format(
        label[:1].upper() + label[1:], said.rstrip(".")
    )


def _said_from_what_it_is(error: DomainError) -> Markup | None:
    problems = error.facts.get("problems")
    if isinstance(problems, list) and problems:
        return Markup("{}. Correct it in the form and send it again.").format(
            describe_for_people(problems).rstrip(".")
        )
    if error.kind == Refusal.NOT_FOUND:
        return _not_found(error)
    return _field_problem(error)


def page_words(error: DomainError) -> Markup:
    """The refusal as the page shows it (safe HTML: every value in it is escaped)."""
    words = WORDS.get((error.code, error.field)) or WORDS.get((error.code, None))
    said = words(error) if words is not None else None
    if said is None:
        said = _said_from_what_it_is(error)
    return said if said is not None else escape(error.message)
