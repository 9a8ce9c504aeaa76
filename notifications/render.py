"""Rendering an email: subject, plain text and HTML, from the kind's templates and its typed context."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifications.catalog import CATALOG, EmailContext, EmailKind


def money(cents: int) -> str:
    cents = int(cents)  # PostgreSQL sums 64-bit columns as NUMERIC: a Decimal has no integer format
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


def date(ts: int) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%B} {moment.day}, {moment.year}"


def datetime_utc(ts: int) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{date(ts)} at {moment:%H:%M} UTC"


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=autoescape, default_for_string=autoescape),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # the templates ship with the code: no stat() of each file on every render
    )
    env.filters.update(money=money, date=date, datetime=datetime_utc)
    return env


TEXT, HTML = _environment(autoescape=False), _environment(autoescape=True)
SUBJECT_TEMPLATES = {kind: TEXT.from_string(definition.subject) for kind, definition in CATALOG.items()}
REASON_TEMPLATES = {kind: TEXT.from_string(definition.why) for kind, definition in CATALOG.items()}
FOOTER = TEXT.get_template("_footer.txt.j2")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _variables(context: EmailContext) -> dict[str, Any]:
    names = set(type(context).model_fields) | {
        name for name, value in vars(type(context)).items() if isinstance(value, property)
    }
    return {name: getattr(context, name) for name in names}


def render_email(kind: EmailKind, context: EmailContext) -> RenderedEmail:
    """The email of ``kind``; its footer (who sent it, why the recipient gets it) is its audience's, added
    here to every kind's text, and by the layout every kind's HTML extends."""
    definition = CATALOG[kind]
    if not isinstance(context, definition.context):
        expected = definition.context.__name__
        raise TypeError(f"{kind.value} needs a {expected}, not a {type(context).__name__}")
    variables = {**_variables(context), "kind": kind.value, "audience": definition.audience.value}
    variables["recipient_reason"] = " ".join(REASON_TEMPLATES[kind].render(variables).split())
    return RenderedEmail(
        # one line: a job or a name with a line break must not end the header (the email could not go)
        subject=" ".join(SUBJECT_TEMPLATES[kind].render(variables).split()),
        text=TEXT.get_template(f"{kind.value}.txt.j2").render(variables) + FOOTER.render(variables),
        html=HTML.get_template(f"{kind.value}.html.j2").render(variables),
    )
