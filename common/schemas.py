"""Shared request field types. Unknown fields are refused (a typo is an error, not silently ignored)."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from domain.dates import LATEST
from domain.geography import normalize_state


def has_nul(value: Any) -> bool:
    """NUL characters are never valid text (and PostgreSQL cannot store them)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


class TextInput(BaseModel):
    """Input from outside: any NUL character anywhere in it is refused."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if has_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data


class Strict(TextInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _unix_seconds(value: Any) -> Any:
    """Unix seconds; ISO dates and datetimes (older client examples) are accepted too."""
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = datetime.combine(date.fromisoformat(value.strip()), datetime.min.time())
            except ValueError:
                return value
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp())
    return value


# Times are stored as 64-bit integers, up to the last day a date can show (9999-12-31); amounts up to $20M.
MAX_STORED = LATEST
UnixTime = Annotated[int, BeforeValidator(_unix_seconds), Field(ge=0, le=MAX_STORED)]
Cents = Annotated[int, Field(ge=0, le=2_000_000_000)]
Metadata = dict[str, Any]


def us_state(value: str) -> str:
    code = normalize_state(value)
    if code is None:
        raise ValueError(f"'{value}' is not a US state or DC (use the two-letter code, e.g. 'CA')")
    return code


USState = Annotated[str, BeforeValidator(lambda v: us_state(v) if isinstance(v, str) else v)]


def _us_country(value: str | None) -> str | None:
    if value is None:
        return None
    if value.upper() not in ("US", "USA", "UNITED STATES"):
        raise ValueError("only US addresses can be covered")
    return "US"


PostalCode = Annotated[
    str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v), Field(min_length=3, max_length=12)
]
Country = Annotated[str | None, AfterValidator(_us_country)]


class Address(Strict):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(None, max_length=200)
    locality: str = Field(min_length=1, max_length=100)
    region: USState
    postalcode: PostalCode
    country: Country = None


class WorkLocation(Strict):
    """A job's work location: only the state is required (omit the address for remote work)."""

    line1: str | None = Field(None, max_length=200)
    line2: str | None = Field(None, max_length=200)
    locality: str | None = Field(None, max_length=100)
    region: USState
    postalcode: PostalCode | None = None
    country: Country = None


def merge_metadata(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``{}`` clears everything; a key set to ``""`` or ``None`` is removed; others are set."""
    if not update:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value in ("", None):
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
