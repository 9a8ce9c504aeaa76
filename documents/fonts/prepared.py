"""Fonts parsed once per process and handed to each new PDF.

fpdf2's ``add_font`` parses the font file with fontTools for every document (its metrics, cmap and glyph
widths), and at output subsets the parsed font in place, so a parsed font serves one document only. Here
the parsing is done once: each document gets a copy of the prepared font whose per-document state is new
(the glyphs used, the font descriptor output fills in, and the fontTools font output subsets, opened lazily
from the file's bytes in memory). Written against fpdf2 2.8, pinned in pyproject.toml;
tests/test_documents.py renders and reads back what it makes.
"""

import copy
import threading
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont


@dataclass(frozen=True)
class PreparedFont:
    template: TTFFont
    data: bytes
    characters: frozenset[int]  # the code points it has glyphs for


_PREPARED: dict[tuple[Path, str, str], PreparedFont] = {}
_LOCK = threading.Lock()


def prepared(path: Path, family: str, style: str) -> PreparedFont:
    key = (path, family.lower(), style)
    with _LOCK:
        if key not in _PREPARED:
            data = path.read_bytes()
            # fpdf2 types the file a Path, and hands it to fontTools, which reads a file object as well
            template = TTFFont(FPDF(), BytesIO(data), f"{family.lower()}{style}", style)  # type: ignore[arg-type]
            template.ttfont = None  # each document opens its own
            _PREPARED[key] = PreparedFont(template, data, frozenset(template.cmap))
        return _PREPARED[key]


def attach(pdf: FPDF, font: PreparedFont) -> None:
    """What ``pdf.add_font`` would do, without parsing the file again."""
    own = copy.copy(font.template)
    own.i = len(pdf.fonts) + 1
    # Output subsets this font in place; bounding boxes need no recalculation (no glyph is changed).
    own.ttfont = TTFont(BytesIO(font.data), lazy=True, recalcBBoxes=False, recalcTimestamp=False)
    own.cw = font.template.cw.copy()
    own.desc = copy.copy(font.template.desc)  # output names it and attaches the embedded subset
    own.missing_glyphs = []
    own.biggest_size_pt = 0
    own.subset = SubsetMap(own)
    pdf.fonts[own.fontkey] = own
