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


def _billing_details_needed(error: DomainError) -> Markup:
    """Only the details that are missing, and the form that adds them."""
    fields = error.facts.get("missing")
    missing = [DETAIL_WORDS[f] for f in fields if f in DETAIL_WORDS] if isinstance(fields, list) else []
    return Markup("Add your organization's {} in {} before billing premiums to the organization.").format(
        _listed(missing or list(DETAIL_WORDS.values())), _link(BILLING_DETAILS_FORM, "Settings")
    )


# (code, field) -> the page words for that refusal
WORDS: dict[tuple[str, str | None], Callable[[DomainError], Markup]] = {
    ("invalid_input", "withhold_premium"): _billing_details_needed,
}


def page_words(error: DomainError) -> Markup:
    """The refusal as the page shows it (safe HTML: every value in it is escaped)."""
    words = WORDS.get((error.code, error.field))
    return words(error) if words is not None else escape(error.message)
