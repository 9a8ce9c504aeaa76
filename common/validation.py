"""Turning a model's validation errors into messages. ``describe_validation_errors`` is the API's:
``field.path: what is wrong``, joined by "; ", for a bad request body. ``describe_for_people`` says the same
in the words of the dashboard's users (operations and finance staff, not engineers): the field by its label,
what is wrong with it and how to fix it, for a form or a CSV row."""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from domain.errors import invalid

M = TypeVar("M", bound=BaseModel)


def describe_validation_errors(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        message = error.get("msg", "invalid value")
        if error.get("type") == "extra_forbidden":
            message = "unknown field"
        elif error.get("type") == "json_invalid":
            location, message = [], "the request body is not valid JSON"
        parts.append(f"{'.'.join(location)}: {message}" if location else message)
    return "; ".join(parts) or "invalid request"


# A field's label, by the last part of its path (``address.region`` and ``billing_address.region`` alike).
LABELS = {
    "first_name": "first name",
    "middle_name": "middle name",
    "last_name": "last name",
    "company_name": "company name",
    "email": "email",
    "phone": "phone number",
    "line1": "street address",
    "line2": "address line 2",
    "locality": "city",
    "region": "state",
    "postalcode": "ZIP code",
    "country": "country",
    "tax_identification": "tax id (EIN or SSN)",
    "withhold_premium": "withhold premium",
    "billing_contact_name": "billing contact name",
    "billing_contact_email": "billing contact email",
    "url": "URL",
    "expires_in_hours": "hours the old one keeps working",
}
SHOWN_INPUTS = frozenset({"email", "region", "billing_contact_email"})  # never a tax id or other's value
MONEY_FIELDS = frozenset({"wage", "gross_pay", "amount"})  # cents in the model: dollars to people
BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _bound(last: str, value: object) -> str:
    if isinstance(value, int) and last in MONEY_FIELDS:
        return f"${value / 100:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _label(location: list[str]) -> str:
    if not location:
        return "this"
    last = location[-1]
    if last in LABELS:
        return LABELS[last]
    if len(location) > 1 and location[-2] == "custom_metadata":
        return f"the metadata '{last}'"
    return last.replace("_", " ")


def _problem_in_words(error: Any) -> str:
    location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
    label, kind, ctx = _label(location), error.get("type", ""), error.get("ctx") or {}
    last = location[-1] if location else ""
    value = error.get("input") if last in SHOWN_INPUTS and isinstance(error.get("input"), str) else None
    if last == "region" and kind == "value_error":
        return f"the state '{value}' is not a US state (use the two-letter code, e.g. CA)"
    if last.endswith("email") and kind == "value_error":
        return (
            f"the email '{value}' is not an email address" if value else "the email is not an email address"
        )
    if kind == "missing":
        return f"the {label} is missing"
    if kind in ("string_too_short", "too_short") and label in ("phone number", "ZIP code"):
        return f"the {label} is too short"
    if kind == "string_too_short":
        return f"the {label} is empty"
    if kind == "string_too_long":
        return f"the {label} is too long (at most {ctx.get('max_length')} characters)"
    if kind == "string_pattern_mismatch" and last == "tax_identification":
        return "the tax id is not an EIN (12-3456789) or an SSN (123-45-6789)"
    if kind == "string_pattern_mismatch" and last == "phone":
        return "the phone number has characters a phone number does not (use digits, e.g. 555 123 4567)"
    if kind == "bool_parsing":
        return f"{label} must be true, false or empty"
    if kind == "extra_forbidden":
        return f"{label} is not a field we know"
    if kind in BOUNDS:
        name, words = BOUNDS[kind]
        return f"the {label} must be {words} {_bound(last, ctx.get(name))}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"the {label} must be a whole number"
    if kind.startswith("url_"):
        return f"the {label} is not a web address (it starts with https://, e.g. https://example.com/hooks)"
    if kind in ("literal_error", "enum"):
        return f"the {label} is not one of the choices: choose one"
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    return f"the {label}: {message}"


def describe_for_people(errors: list[Any]) -> str:
    """The problems, each as a sentence part a person can act on, joined by "; " (first letter capital)."""
    words = "; ".join(_problem_in_words(error) for error in errors) or "something is not valid"
    return words[0].upper() + words[1:]


def validated(model: type[M], data: Any) -> M:
    """``data`` as ``model``; what does not fit is a DomainError with the message the API gives."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = list(error.errors())
        raise invalid(describe_validation_errors(problems), problems=problems) from None
