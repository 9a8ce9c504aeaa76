"""An ACORD 25 read by position: the printed labels are found among the words (a text layer's or OCR's),
and each value is read where the form puts it relative to its label: below it (producer, insured, holder,
date), beside it (an insurer's name and NAIC #, a limit's amount), or in its column of the COVERAGES table
(INSR LTR, ADDL INSD, SUBR WVD, POLICY NUMBER, POLICY EFF, POLICY EXP) within the coverage's rows."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

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
from integrations.certificate_reader import acord
from integrations.certificate_reader.words import (
    Box,
    Span,
    Word,
    find,
    first,
    identifier,
    inside,
    insurer_letter,
    lines,
    money,
    naic,
    normal,
    read,
    read_lines,
    text,
    us_date,
    yes_no,
)

_BIG = 10_000.0
_LINE_GAP = 9.0  # points of white between two lines of one box's text, at most
# The boxes that hold one character, and the characters they may hold.
_SURE = 80  # OCR confidence (0..100) above which a one-character box is not read again
_ONE_CHARACTER = {"INSR": acord.INSURER_LETTERS, "ADDL": "YNX", "SUBR": "YNX"}
# Reads one character (or one line) in a box of a page again (by OCR), or nothing when the box holds no ink.
CellReader = Callable[[int, Box, str, bool], list[Word]]
# The boxes that hold one line of known characters, read again when OCR of the page was unsure of them.
_ONE_LINE = {
    "POLICY EFF": "0123456789/",
    "POLICY EXP": "0123456789/",
    "POLICY NUMBER": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-",
}
_COLUMNS = (
    "INSR",
    "TYPE OF INSURANCE",
    "ADDL",
    "SUBR",
    "POLICY NUMBER",
    "POLICY EFF",
    "POLICY EXP",
    "LIMITS",
)


@dataclass(frozen=True)
class _Row:
    coverage: CoverageKind
    top: float
    bottom: float
    limit_lines: tuple[tuple[str, LimitKind], ...]
    has_additional_insured: bool = True


def _below(words: Sequence[Word], label: Span | None, x1: float, bottom: float) -> list[list[Word]]:
    """The lines written under a box's label, left of ``x1`` and above ``bottom``."""
    if label is None:
        return []
    box = Box(label.x0 - 6, label.bottom + 0.5, x1, bottom)
    found = lines(inside(words, box))
    kept: list[list[Word]] = []
    for line in found:  # the box's text runs on from line to line; a mark far below is not part of it
        if kept and min(w.top for w in line) - max(w.bottom for w in kept[-1]) > _LINE_GAP:
            break
        kept.append(line)
    return kept


def _party(words: Sequence[Word], label: Span | None, x1: float, bottom: float) -> Party:
    found = _below(words, label, x1, bottom)
    if not found:
        return Party()
    return Party(read(found[0], text), read_lines(found[1:], ", "))


def _insurers(words: Sequence[Word], naic_x0: float, right_of: float) -> tuple[Insurer, ...]:
    insurers = []
    for letter in acord.INSURER_LETTERS:
        label = next((s for s in find(words, f"INSURER {letter}") if s.x0 >= right_of), None)
        if label is None:
            continue
        row = Box(label.x1 + 1, label.middle - 5, _BIG, label.middle + 5)
        name_words = [w for w in inside(words, row) if w.x1 < naic_x0 - 2]
        while name_words and not name_words[0].key:  # the ":" after the label
            name_words.pop(0)
        naic_words = [w for w in inside(words, row) if w.x0 >= naic_x0 - 12]
        if name_words or naic_words:
            insurers.append(Insurer(letter, read(name_words, text), read(naic_words, naic, joiner="")))
    return tuple(insurers)


class _Table:
    def __init__(
        self, words: Sequence[Word], header: dict[str, Span], bottom: float, cells: CellReader | None
    ) -> None:
        self.words, self.header, self.bottom, self.cells = words, header, bottom, cells
        self.top = max(s.bottom for s in header.values()) + 1
        starts = sorted((s.x0, name) for name, s in header.items())
        self.columns: dict[str, tuple[float, float]] = {}
        for index, (x0, name) in enumerate(starts):
            x1 = starts[index + 1][0] if index + 1 < len(starts) else _BIG
            self.columns[name] = (x0 - 5, x1 - 5)

    def column(self, name: str, top: float, bottom: float) -> list[Word]:
        x0, x1 = self.columns[name]
        return inside(self.words, Box(x0, top, x1, bottom))

    def first_line(self, name: str, top: float, bottom: float) -> list[Word]:
        found = lines(self.column(name, top, bottom))
        return found[0] if found else []

    def rows(self) -> list[_Row]:
        type_x0, type_x1 = self.columns["TYPE OF INSURANCE"]
        type_box = Box(type_x0, self.top, type_x1, self.bottom)
        starts: list[tuple[float, acord.Block | None, str]] = []
        for block in acord.BLOCKS:
            span = first(self.words, block.label, type_box)
            if span is not None:
                starts.append((span.top - 3, block, ""))
        last_block = max((top for top, _, _ in starts), default=self.top)
        numbers = lines(self.column("POLICY NUMBER", self.top, self.bottom))
        for line in lines(inside(self.words, type_box)):
            middle = sum(w.middle for w in line) / len(line)
            description = " ".join(w.text for w in line)
            if middle <= last_block + 14 or acord.other_coverage(description) is None:
                continue
            starts.append((min(w.top for w in line) - 3, None, description))
        for line in numbers:  # an OTHER row whose coverage is named elsewhere has a policy number at least
            top = min(w.top for w in line) - 3
            if top > last_block + 14 and all(abs(top - s) > 6 for s, _, _ in starts):
                starts.append((top, None, ""))
        starts.sort(key=lambda s: s[0])
        rows = []
        for index, (top, printed, description) in enumerate(starts):
            bottom = starts[index + 1][0] if index + 1 < len(starts) else self.bottom
            if printed is not None:
                limits = tuple((line.label, line.kind) for line in printed.limits)
                rows.append(
                    _Row(printed.coverage, top, bottom, limits, printed.additional_insured is not None)
                )
                continue
            coverage = acord.other_coverage(description)
            if coverage is not None:
                rows.append(_Row(coverage, top, bottom, acord.OTHER_LIMIT_NAMES))
        return rows

    def limits(self, row: _Row) -> dict[LimitKind, Read[int]]:
        limit_x0, _ = self.columns["LIMITS"]
        area = Box(limit_x0, row.top, _BIG, row.bottom)
        found: dict[LimitKind, Read[int]] = {}
        taken: set[int] = set()
        for label, kind in row.limit_lines:
            for span in find(self.words, label, area):
                if kind in found or id(span.words[0]) in taken:
                    continue
                taken.add(id(span.words[0]))
                beside = Box(span.x1 + 1, span.middle - 4, _BIG, span.middle + 4)
                amount = [w for w in inside(self.words, beside) if any(c.isdigit() for c in w.text)]
                amount = [w for w in amount if w.x0 > span.x1] if amount else []
                value = read(amount, money, joiner="")
                if value.found:
                    found[kind] = value
        return found

    def _one_character(self, found: list[Word], name: str, characters: str, row: _Row) -> list[Word]:
        """A one-character box of a scan read again alone when the page's OCR left it empty, unreadable
        or unsure; where the two readings differ, the second is kept at half its confidence (a person
        should look)."""
        key = normal("".join(w.text for w in found))
        sure = len(key) == 1 and key in characters and min(w.confidence for w in found) >= _SURE
        if sure or self.cells is None:
            return found
        x0, x1 = self.columns[name]
        page = self.words[0].page if self.words else 1
        again = self.cells(page, Box(x0, row.top, x1, row.top + 12), characters, False)
        if not again:
            return found
        if len(key) == 1 and key in characters and key != normal(again[0].text):
            return [replace(again[0], confidence=again[0].confidence / 2)]  # two readings disagree
        return again if not found or again[0].confidence > max(w.confidence for w in found) else found

    def _one_line(self, found: list[Word], characters: str) -> list[Word]:
        """A date or policy number OCR of the page was unsure of, read again alone (one line, its
        characters only): the same text, read surely, raises the confidence; a different one halves it."""
        if not found or self.cells is None or min(w.confidence for w in found) >= _SURE:
            return found
        box = Box(
            min(w.x0 for w in found) - 2,
            min(w.top for w in found) - 2,
            max(w.x1 for w in found) + 2,
            max(w.bottom for w in found) + 2,
        )
        again = self.cells(found[0].page, box, characters, True)
        text = "".join(w.text for w in found).strip(" _|.,:;'\"`~")
        if not again:
            return found
        if again[0].text == text:
            best = max(again[0].confidence, min(w.confidence for w in found))
            return [replace(w, confidence=best) for w in found]
        low = min(w.confidence for w in found) / 2
        return [replace(w, confidence=low) for w in found]

    def policy(self, row: _Row) -> PolicyEntry | None:
        cells = {
            name: self.first_line(name, row.top, row.bottom) for name in _COLUMNS if name in self.columns
        }
        number = read(cells.get("POLICY NUMBER", []), identifier, joiner="")
        letter = read(cells.get("INSR", []), insurer_letter, joiner="")
        limits = self.limits(row)
        if not (number.found or limits or letter.found):
            return None
        for name, characters in _ONE_LINE.items():
            if name in cells:
                cells[name] = self._one_line(cells[name], characters)
        for name, characters in _ONE_CHARACTER.items():
            if name in self.columns and self.cells is not None:
                if name == "ADDL" and not row.has_additional_insured:
                    continue
                cells[name] = self._one_character(cells[name], name, characters, row)
        return PolicyEntry(
            coverage=row.coverage,
            insurer_letter=read(cells.get("INSR", []), insurer_letter, joiner=""),
            policy_number=read(cells.get("POLICY NUMBER", []), identifier, joiner=""),
            effective=read(cells.get("POLICY EFF", []), us_date, joiner=""),
            expires=read(cells.get("POLICY EXP", []), us_date, joiner=""),
            limits=limits,
            additional_insured=read(cells.get("ADDL", []), yes_no) if row.has_additional_insured else Read(),
            waiver_of_subrogation=read(cells.get("SUBR", []), yes_no),
        )


def _line_starts(words: Sequence[Word], spans: list[Span]) -> list[Span]:
    """The spans that begin their line's text (a box's label, not the same words inside a sentence)."""
    return [
        s
        for s in spans
        if not any(w.x1 < s.x0 and abs(w.middle - s.middle) < 4 and w.x1 > s.x0 - 150 for w in words)
    ]


def _last(spans: list[Span]) -> Span | None:
    return max(spans, key=lambda s: s.top) if spans else None


def _date(words: Sequence[Word], above: float, middle: float) -> Read[date]:
    """The date under DATE (MM/DD/YYYY), in the form's top right corner; where the label cannot be read
    (a scan), the one date written in that corner above the PRODUCER box."""
    label = first(words, "DATE (MM/DD/YYYY)")
    if label is not None:
        box = Box(label.x0 - 20, label.bottom + 0.5, label.x1 + 40, label.bottom + 24)
    else:
        box = Box(middle, 0, _BIG, above)
    dated = [read([w], us_date) for w in inside(words, box)]
    dated = [d for d in dated if d.found]
    return dated[0] if len(dated) == 1 or (dated and label is not None) else Read()


def read_acord(
    words: Sequence[Word], method: ReadMethod, pages: int, cells: CellReader | None = None
) -> ParsedCertificate:
    """Everything an ACORD 25's page shows, by position; what cannot be found is ``Read()``. ``cells``
    (a scan's) reads again, as one character, an INSR LTR / ADDL INSD / SUBR WVD box found empty in a
    policy's row: OCR of a whole page often drops a lone letter."""
    words = [w for w in words if w.page == 1]
    page_width = max((w.x1 for w in words), default=612.0)
    middle = max(page_width, 560.0) / 2
    producer = first(words, "PRODUCER")
    affording = first(words, "INSURER(S) AFFORDING COVERAGE") or first(words, "INSURER A")
    insurers_x0 = affording.x0 if affording is not None else middle
    naic_label = first(words, "NAIC #")
    coverages = first(words, "COVERAGES")
    insured = next(
        (
            s
            for s in _line_starts(words, find(words, "INSURED"))
            if s.x0 < insurers_x0
            and (producer is None or s.top > producer.top)
            and (coverages is None or s.top < coverages.top)
        ),
        None,
    )
    description = _last(_line_starts(words, find(words, "DESCRIPTION OF OPERATIONS")))
    cancellation = _last(find(words, "CANCELLATION"))
    holders = [s for s in _line_starts(words, find(words, "CERTIFICATE HOLDER")) if s.x0 < middle]
    beside = [s for s in holders if cancellation is not None and abs(s.middle - cancellation.middle) < 6]
    holder = _last(beside or holders)
    footer = first(words, "ACORD 25")

    header: dict[str, Span] = {}
    number = first(words, "POLICY NUMBER")
    if number is not None:
        band = Box(0, number.top - 6, _BIG, number.bottom + 6)
        for name in _COLUMNS:
            span = first(words, name, band)
            if span is not None:
                header[name] = span
    policies: list[PolicyEntry] = []
    if {"TYPE OF INSURANCE", "POLICY NUMBER", "LIMITS"} <= header.keys():
        bottom = description.top - 2 if description is not None else (holder.top - 2 if holder else _BIG)
        table = _Table(words, header, bottom, cells)
        policies = [p for row in table.rows() if (p := table.policy(row)) is not None]

    holder_bottom = (
        footer.top - 2 if footer is not None and holder is not None and footer.top > holder.top else _BIG
    )
    description_lines = _below(words, description, _BIG, holder.top - 2 if holder else _BIG)
    flat = [w for line in description_lines for w in line]
    return ParsedCertificate(
        method=method,
        form="ACORD 25",
        pages=pages,
        issued=_date(words, producer.top if producer else 80, middle),
        producer=_party(words, producer, insurers_x0 - 2, insured.top - 1 if insured else _BIG),
        insured=_party(words, insured, insurers_x0 - 2, coverages.top - 1 if coverages else _BIG),
        insurers=_insurers(words, naic_label.x0 if naic_label else _BIG, insurers_x0 - 2),
        policies=tuple(policies),
        certificate_holder=_party(
            words,
            holder,
            cancellation.x0 - 2 if cancellation else middle,
            min(holder_bottom, (holder.bottom + 60) if holder else _BIG),
        ),
        description=read(flat, text),
    )
