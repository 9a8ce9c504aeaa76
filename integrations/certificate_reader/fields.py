"""A fillable ACORD 25: its AcroForm fields, by their ACORD names (method FORM_FIELDS, confidence 1.0)."""

import re
from collections.abc import Callable
from typing import Any, TypeVar

from pypdf import PdfReader

from domain.certificates import (
    Insurer,
    LimitKind,
    ParsedCertificate,
    Party,
    PolicyEntry,
    Read,
    ReadMethod,
)
from integrations.certificate_reader import acord
from integrations.certificate_reader.words import (
    insurer_letter,
    money,
    naic,
    normal,
    text,
    us_date,
    yes_no,
)

T = TypeVar("T")
_MINIMUM_FILLED = 3  # fewer filled-in ACORD fields than this: not a filled-in form


def _leaf(name: str) -> str:
    """ "F[0].P1[0].Insurer_FullName_A[0]" → "Insurer_FullName_A"."""
    return re.sub(r"\[\d+\]$", "", name.rsplit(".", 1)[-1])


def _values(reader: PdfReader) -> dict[str, str]:
    fields: dict[str, Any] = reader.get_fields() or {}
    values: dict[str, str] = {}
    for name, field in fields.items():
        value = field.get("/V")
        if value is None:
            continue
        value = str(value).strip()
        if value.startswith("/"):  # a check box's state: /Off, /Yes
            value = "" if value == "/Off" else "X"
        if value:
            values[_leaf(name)] = value
    return values


class _Fields:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def read(self, name: str | None, parse: Callable[[str], T | None]) -> Read[T]:
        if name is None or name not in self.values:
            return Read()
        value = parse(self.values[name])
        return Read() if value is None else Read(value, 1.0, f"form field {name}")

    def party(self, prefix: str) -> Party:
        name = self.read(f"{prefix}_FullName_A", text)
        parts = [
            self.values.get(f"{prefix}_MailingAddress_LineOne_A", ""),
            self.values.get(f"{prefix}_MailingAddress_LineTwo_A", ""),
        ]
        city = self.values.get(f"{prefix}_MailingAddress_CityName_A", "")
        state = self.values.get(f"{prefix}_MailingAddress_StateOrProvinceCode_A", "")
        postal = self.values.get(f"{prefix}_MailingAddress_PostalCode_A", "")
        place = " ".join(p for p in (f"{city}," if city and (state or postal) else city, state, postal) if p)
        address = ", ".join(p.strip() for p in (*parts, place) if p.strip())
        where = f"form fields {prefix}_MailingAddress_*"
        return Party(name, Read(address, 1.0, where) if address else Read())


def _block_policy(fields: _Fields, block: acord.Block) -> PolicyEntry | None:
    limits = {line.kind: fields.read(line.field, money) for line in block.limits}
    entry = PolicyEntry(
        coverage=block.coverage,
        insurer_letter=fields.read(block.letter, insurer_letter),
        policy_number=fields.read(block.number, text),
        effective=fields.read(block.effective, us_date),
        expires=fields.read(block.expires, us_date),
        limits={kind: read for kind, read in limits.items() if read.found},
        additional_insured=fields.read(block.additional_insured, yes_no),
        waiver_of_subrogation=fields.read(block.waiver, yes_no),
    )
    return entry if entry.policy_number.found or entry.limits or entry.insurer_letter.found else None


def _other_policy(fields: _Fields, row: str) -> PolicyEntry | None:
    names = acord.other_fields(row)
    description = fields.values.get(names["description"], "")
    coverage = acord.other_coverage(description)
    if coverage is None:
        return None
    limits: dict[LimitKind, Read[int]] = {}
    for code, amount in (("code_1", "limit_1"), ("code_2", "limit_2")):
        label = normal(fields.values.get(names[code], ""))
        kind = next((k for phrase, k in acord.OTHER_LIMIT_NAMES if normal(phrase) == label), None)
        read = fields.read(names[amount], money)
        if kind is not None and read.found:
            limits[kind] = read
    return PolicyEntry(
        coverage=coverage,
        insurer_letter=fields.read(names["letter"], insurer_letter),
        policy_number=fields.read(names["number"], text),
        effective=fields.read(names["effective"], us_date),
        expires=fields.read(names["expires"], us_date),
        limits=limits,
        additional_insured=fields.read(names["additional_insured"], yes_no),
        waiver_of_subrogation=fields.read(names["waiver"], yes_no),
    )


def read(reader: PdfReader, pages: int) -> ParsedCertificate | None:
    """The certificate from the form's fields, or None when the PDF has no filled-in ACORD fields."""
    values = _values(reader)
    known = [name for name in values if name.endswith(("_A", "_B", "_C", "_D", "_E", "_F"))]
    if len(known) < _MINIMUM_FILLED:
        return None
    fields = _Fields(values)
    insurers = tuple(
        Insurer(
            letter,
            fields.read(f"Insurer_FullName_{letter}", text),
            fields.read(f"Insurer_NAICCode_{letter}", naic),
        )
        for letter in acord.INSURER_LETTERS
        if f"Insurer_FullName_{letter}" in values or f"Insurer_NAICCode_{letter}" in values
    )
    policies = [p for block in acord.BLOCKS if (p := _block_policy(fields, block)) is not None]
    policies += [p for row in acord.OTHER_ROWS if (p := _other_policy(fields, row)) is not None]
    return ParsedCertificate(
        method=ReadMethod.FORM_FIELDS,
        form="ACORD 25",
        pages=pages,
        issued=fields.read(acord.DATE_FIELD, us_date),
        producer=fields.party("Producer"),
        insured=fields.party("NamedInsured"),
        insurers=insurers,
        policies=tuple(policies),
        certificate_holder=fields.party("CertificateHolder"),
        description=fields.read(acord.DESCRIPTION_FIELD, text),
    )
