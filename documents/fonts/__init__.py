"""The fonts of every PDF: Roboto in two cuts, its Latin alphabets and everything else it covers.

The cuts (``Roboto-<style>-Latin.ttf`` and ``-Other.ttf``, made once from the ``font-roboto`` package by
``python -m documents.fonts``) leave out what fpdf2 never uses (OpenType layout tables, hinting), so a
document parses and subsets far less than the whole font. Every document has the Latin cut, a fifth of
Roboto's glyphs; text with a character beyond it (Greek, Cyrillic, Vietnamese, …) brings in the other cut as
fpdf2's fallback, in that document only.
"""

from pathlib import Path

HERE = Path(__file__).parent
STYLES = {"": "Regular", "B": "Bold"}
# Basic Latin, Latin-1, Latin Extended-A and -B (Romanian ș ț among them), general punctuation, currency
# signs, letterlike symbols (№, ™).
LATIN = ((0x20, 0x7E), (0xA0, 0x24F), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F))


def is_latin(codepoint: int) -> bool:
    return any(low <= codepoint <= high for low, high in LATIN)


def cut_font(style: str, latin: bool) -> Path:
    return HERE / f"Roboto-{STYLES[style]}-{'Latin' if latin else 'Other'}.ttf"
