"""gigcover's own certificates (documents/certificate.py): one page per coverage, each a list of
"label   value" lines under the headings INSURED, CERTIFICATE HOLDER, COVERAGE and DESCRIPTION OF
OPERATIONS. Read by position like an ACORD 25: the value is what stands right of its label on its line,
and an address is the lines below a name that carry no label of their own."""

import re
from collections.abc import Sequence
from datetime import date, datetime

from domain.certificates import (
    CoverageKind,
    Insurer,
    LimitKind,
    ParsedCertificate,
    Party,
    PolicyEntry,
    Read,
    ReadMethod,
)
from integrations.certificate_reader.words import (
    Box,
    Span,
    Word,
    find,
    first,
    inside,
    lines,
    money,
    read,
    read_lines,
    text,
)

_BIG = 10_000.0
_GAP = 25  # points between a label's end and its value's start, at least
_HEADINGS = ("INSURED", "CERTIFICATE HOLDER", "COVERAGE", "DESCRIPTION OF OPERATIONS")
_COVERAGES = {
    "GENERAL LIABILITY": CoverageKind.GENERAL_LIABILITY,
    "WORKERS": CoverageKind.WORKERS_COMP,
    "PROFESSIONAL LIABILITY": CoverageKind.PROFESSIONAL,
}


def is_gigcover(words: Sequence[Word]) -> bool:
    return (
        first(words, "gigcover Insurance Services") is not None
        and first(words, "Certificate number") is not None
    )


def long_date(value: str) -> date | None:
    """ "January 15, 2027" (as gigcover's certificates write dates)."""
    try:
        return datetime.strptime(" ".join(value.replace(",", ", ").split()), "%B %d, %Y").date()
    except ValueError:
        return None


class _Page:
    def __init__(self, words: Sequence[Word]) -> None:
        self.words = words
        self.headings: dict[str, Span] = {}
        for heading in _HEADINGS:
            spans = [s for s in find(words, heading) if s.x0 < 120 and len(self._line_of(s)) == len(s.words)]
            if spans:
                self.headings[heading] = spans[0]
        self.label_x = min((s.x0 for s in self.headings.values()), default=0.0)

    def _line_of(self, span: Span) -> list[Word]:
        return [w for w in self.words if abs(w.middle - span.middle) < 4]

    def section(self, heading: str) -> Box | None:
        span = self.headings.get(heading)
        if span is None:
            return None
        below = [s.top for s in self.headings.values() if s.top > span.top]
        return Box(0, span.bottom + 0.5, _BIG, min(below, default=span.bottom + 200) - 0.5)

    def value(self, label: str, within: Box | None = None) -> tuple[list[Word], list[list[Word]]]:
        """The words right of ``label`` on its line, and the following lines that carry no label."""
        span = next((s for s in find(self.words, label, within) if s.x0 < self.label_x + 10), None)
        if span is None:
            return [], []
        right = inside(self.words, Box(span.x1 + _GAP, span.middle - 4, _BIG, span.middle + 4))
        if not right:
            return [], []
        value_x = min(w.x0 for w in right)
        more: list[list[Word]] = []
        bottom = within.bottom if within is not None else _BIG
        for line in lines(inside(self.words, Box(0, span.bottom + 1, _BIG, bottom))):
            if line[0].x0 < value_x - 15:  # the next label
                break
            more.append(line)
        return right, more


def _party(page: _Page, heading: str) -> Party:
    box = page.section(heading)
    if box is None:
        return Party()
    name, address = page.value("Name", box)
    return Party(read(name, text), read_lines(address, ", "))


def _coverage(value: str) -> CoverageKind | None:
    upper = value.upper()
    return next((kind for key, kind in _COVERAGES.items() if key in upper), None)


def _el_limits(page: _Page, box: Box) -> dict[LimitKind, Read[int]]:
    first_line, more = page.value("Employer's liability", box)
    limits: dict[LimitKind, Read[int]] = {}
    for line in [first_line, *more]:
        if not line:
            continue
        words = " ".join(w.text for w in line).lower()
        kind = (
            LimitKind.EL_EACH_ACCIDENT
            if "accident" in words
            else LimitKind.EL_DISEASE_EACH_EMPLOYEE
            if "employee" in words
            else LimitKind.EL_DISEASE_POLICY_LIMIT
            if "policy" in words
            else None
        )
        amount = [w for w in line if re.search(r"\d", w.text)]
        value = read(amount[:1], money)
        if kind is not None and value.found:
            limits[kind] = value
    return limits


def _policy(page: _Page) -> PolicyEntry | None:
    box = page.section("COVERAGE")
    if box is None:
        return None
    kind_words, _ = page.value("Type", box)
    coverage = _coverage(" ".join(w.text for w in kind_words))
    if coverage is None:
        return None
    number, _ = page.value("Policy number", box)
    effective, _ = page.value("Effective date", box)
    expires, _ = page.value("Expiration date", box)
    if coverage is CoverageKind.WORKERS_COMP:
        limits = _el_limits(page, box)
    else:
        occurrence, _ = page.value("Each occurrence", box)
        aggregate, _ = page.value("General aggregate", box)
        # gigcover's professional liability limits are per claim, in the aggregate
        each, total = (
            (LimitKind.EACH_CLAIM, LimitKind.AGGREGATE)
            if coverage is CoverageKind.PROFESSIONAL
            else (LimitKind.EACH_OCCURRENCE, LimitKind.GENERAL_AGGREGATE)
        )
        limits = {
            kind: value for kind, value in ((each, read(occurrence, money)), (total, read(aggregate, money)))
        }
        limits = {kind: value for kind, value in limits.items() if value.found}
    return PolicyEntry(
        coverage=coverage,
        insurer_letter=Read(),
        policy_number=read(number, text, joiner=""),
        effective=read(effective, long_date),
        expires=read(expires, long_date),
        limits=limits,
    )


def read_gigcover(words: Sequence[Word], method: ReadMethod, pages: int) -> ParsedCertificate:
    """A gigcover certificate: the parties and date from its first page, one policy per page."""
    by_page = sorted({w.page for w in words})
    first_page = _Page([w for w in words if w.page == by_page[0]])
    policies = [p for n in by_page if (p := _policy(_Page([w for w in words if w.page == n]))) is not None]
    issuer, _ = first_page.value("Issuer")
    description, more = first_page.value("Operations", first_page.section("DESCRIPTION OF OPERATIONS"))
    issued, _ = first_page.value("Date issued")
    insurer_name, _ = first_page.value("Insurer")
    insurer_naic, _ = first_page.value("NAIC")
    insurers: tuple[Insurer, ...] = ()
    if insurer_name or insurer_naic:
        insurers = (Insurer("A", read(insurer_name, text), read(insurer_naic, text, joiner="")),)
        policies = [
            PolicyEntry(
                p.coverage,
                Read("A", 1.0, "the certificate's one insurer"),
                p.policy_number,
                p.effective,
                p.expires,
                p.limits,
            )
            for p in policies
        ]
    return ParsedCertificate(
        method=method,
        form="gigcover",
        pages=pages,
        issued=read(issued, long_date),
        producer=Party(read(issuer, text)),
        insured=_party(first_page, "INSURED"),
        insurers=insurers,
        policies=tuple(policies),
        certificate_holder=_party(first_page, "CERTIFICATE HOLDER"),
        description=read([*description, *(w for line in more for w in line)], text),
    )
