"""Rendering an email: subject, plain text and HTML, from the kind's templates and its typed context."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifications.catalog import SUBJECTS, EmailContext, EmailKind


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
SUBJECT_TEMPLATES = {kind: TEXT.from_string(subject) for kind, (_context, subject) in SUBJECTS.items()}


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
    expected, _subject = SUBJECTS[kind]
    if not isinstance(context, expected):
        raise TypeError(f"{kind.value} needs a {expected.__name__}, not a {type(context).__name__}")
    variables = {"kind": kind.value, **_variables(context)}
    return RenderedEmail(
        # one line: a job or a name with a line break must not end the header (the email could not go)
        subject=" ".join(SUBJECT_TEMPLATES[kind].render(variables).split()),
        text=TEXT.get_template(f"{kind.value}.txt.j2").render(variables),
        html=HTML.get_template(f"{kind.value}.html.j2").render(variables),
    )
