"""What a dashboard page says when a service refuses: the refusal in the words of the people who use the
dashboard (operations and finance staff), naming what to do and linking to where to do it. The API keeps its
own messages (``DomainError.message``); this is the one place the dashboard turns a refusal into page words,
and ``api/dashboard/rendering.refused`` is the one caller.

A refusal is looked up by its code and field; one without words of its own here is shown as the service's
message. (A form's field problems carry them in ``facts["problems"]``, for ``describe_for_people`` to say,
as the CSV upload's rows do; the forms still show the API's text.)"""

from collections.abc import Callable

from markupsafe import Markup, escape

from domain.errors import DomainError

BILLING_DETAILS_FORM = "/dashboard/settings#billing-details"
DETAIL_WORDS = {
    "billing_contact_name": "billing contact's name",
    "billing_contact_email": "billing contact's email",
    "billing_address": "billing address",
}


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _link(href: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(href, text)


def _reminder_days(error: DomainError) -> Markup:
    said = Markup("Choose after how many days, from 1 to 30, contractors are reminded in {}, or Never.")
    return said.format(_link("/dashboard/settings#h-reminders", "Settings"))


def _billing_details_needed(error: DomainError) -> Markup | None:
    """Only the details that are missing, and the form that adds them (or, when a change would remove
    them, what to do first)."""
    fields = error.facts.get("missing")
    if not isinstance(fields, list):
        return None  # another refusal of the same field: the service's message
    missing = _listed([DETAIL_WORDS[f] for f in fields if f in DETAIL_WORDS] or list(DETAIL_WORDS.values()))
    if error.facts.get("removing"):
        return Markup(
            "Your organization is billed for premiums, so its {} cannot be removed: stop withholding "
            "premiums in {} first."
        ).format(missing, _link("/dashboard/settings#h-withhold", "Settings"))
    return Markup("Add your organization's {} in {} before billing premiums to the organization.").format(
        missing, _link(BILLING_DETAILS_FORM, "Settings")
    )


# (code, field) -> the page words for that refusal (None: it has none, the service's message is shown)
WORDS: dict[tuple[str, str | None], Callable[[DomainError], Markup | None]] = {
    ("invalid_input", "application_reminder_days"): _reminder_days,
    ("invalid_input", "withhold_premium"): _billing_details_needed,
}


def page_words(error: DomainError) -> Markup:
    """The refusal as the page shows it (safe HTML: every value in it is escaped)."""
    words = WORDS.get((error.code, error.field))
    said = words(error) if words is not None else None
    return said if said is not None else escape(error.message)
