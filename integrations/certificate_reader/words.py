"""Words with their positions (from a text layer or from OCR), grouped into lines, searched for labels, and
turned into ``Read`` values that say where they were read and how sure the reading is.

Positions are PDF points from the page's top-left corner, whatever the source (OCR pixels are scaled), so
one set of geometric tolerances serves both."""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from statistics import mean
from typing import TypeVar

from domain.certificates import Read

T = TypeVar("T")

LINE_TOLERANCE = 3.5  # points: words whose vertical centres are this close sit on one line


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    page: int = 1
    confidence: float = 100.0  # 0..100, Tesseract's scale; 100 for a text layer
    ocr: bool = False

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def key(self) -> str:
        return normal(self.text)


def normal(text: str) -> str:
    """A word as labels are compared: upper case, letters and digits only ("E.L." → "EL", "A:" → "A")."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


@dataclass(frozen=True)
class Box:
    x0: float
    top: float
    x1: float
    bottom: float

    def holds(self, word: Word) -> bool:
        return self.x0 <= word.centre < self.x1 and self.top <= word.middle < self.bottom


@dataclass(frozen=True)
class Span:
    """A label found on the page: the words that make it."""

    words: tuple[Word, ...]

    @property
    def x0(self) -> float:
        return min(w.x0 for w in self.words)

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def lines(words: Iterable[Word]) -> list[list[Word]]:
    """Words grouped into lines (top to bottom), each line left to right."""
    result: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.page, w.middle)):
        if result and result[-1][0].page == word.page:
            line = result[-1]
            if abs(mean(w.middle for w in line) - word.middle) <= LINE_TOLERANCE:
                line.append(word)
                continue
        result.append([word])
    return [sorted(line, key=lambda w: w.x0) for line in result]


def find(words: Sequence[Word], phrase: str, within: Box | None = None) -> list[Span]:
    """Every place ``phrase`` is written as consecutive words of one line (compared as ``normal`` words;
    punctuation-only words are skipped), top to bottom."""
    wanted = "".join(normal(part) for part in phrase.split())
    found: list[Span] = []
    pool = [w for w in words if within is None or within.holds(w)]
    for line in lines(pool):
        tokens = [w for w in line if w.key]
        for start in range(len(tokens)):
            # the words' letters run together as the phrase's: OCR may split a word or join two
            joined, end = "", start
            while end < len(tokens) and len(joined) < len(wanted):
                joined += tokens[end].key
                end += 1
            if joined == wanted:
                found.append(Span(tuple(tokens[start:end])))
    return found


def first(words: Sequence[Word], phrase: str, within: Box | None = None) -> Span | None:
    spans = find(words, phrase, within)
    return spans[0] if spans else None


def inside(words: Iterable[Word], box: Box) -> list[Word]:
    return [w for w in words if box.holds(w)]


def where(words: Sequence[Word]) -> str:
    head = min(words, key=lambda w: (w.middle, w.x0))
    at = f"page {head.page} at ({head.x0:.0f}, {head.top:.0f})"
    if head.ocr:
        return f"OCR {at}, conf {mean(w.confidence for w in words):.0f}"
    return at


def confidence(words: Sequence[Word]) -> float:
    return round(max(0.0, min(1.0, mean(w.confidence for w in words) / 100)), 3)


def read(words: Sequence[Word], parse: Callable[[str], T | None], joiner: str = " ") -> Read[T]:
    """The value ``parse`` makes of the words' text; not found (``Read()``) when there are no words or
    the text does not parse, never a guess."""
    if not words:
        return Read()
    text = "\n".join(joiner.join(w.text for w in line) for line in lines(words))
    value = parse(text.strip())
    if value is None:
        return Read()
    return Read(value, confidence(words), where(words))


def read_lines(line_words: Sequence[Sequence[Word]], separator: str) -> Read[str]:
    """Several lines as one value (an address: lines joined with ", ")."""
    kept = [line for line in line_words if line]
    if not kept:
        return Read()
    text = separator.join(" ".join(w.text for w in line) for line in kept)
    flat = [w for line in kept for w in line]
    return Read(text, confidence(flat), where(flat))


# ---- values --------------------------------------------------------------------------------------------


def text(value: str) -> str | None:
    value = " ".join(value.split())  # lines joined with a space
    return value or None


_MONEY = re.compile(r"^(?:US)?\$?\s?(\d{1,3}(?:,\d{3})+|\d{1,9})(?:\.00)?$")


def money(value: str) -> int | None:
    """Whole dollars from "$1,000,000", "1,000,000", "$ 5,000"; None for anything else."""
    match = _MONEY.match("".join(value.split()))
    return int(match.group(1).replace(",", "")) if match else None


_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def us_date(value: str) -> date | None:
    """A date written MM/DD/YYYY (as ACORD forms write them); None when it is not a real date."""
    match = _DATE.match("".join(value.split()))
    if not match:
        return None
    month, day, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def yes_no(value: str) -> bool | None:
    """ACORD's ADDL INSD / SUBR WVD boxes: "Y" or "X" is yes, "N" is no; anything else is not read."""
    key = normal(value)
    return True if key in ("Y", "YES", "X") else False if key in ("N", "NO") else None


def identifier(value: str) -> str | None:
    """A policy number: one token, without the specks a scan leaves at its ends ("_CA-8034" → "CA-8034")."""
    value = value.strip(" _|.,:;'\"`~")
    return value if value and " " not in value else None


def naic(value: str) -> str | None:
    digits = "".join(value.split())
    return digits if re.fullmatch(r"\d{5}", digits) else None


def insurer_letter(value: str) -> str | None:
    key = normal(value)
    return key if len(key) == 1 and key in "ABCDEF" else None
