"""Make the two cuts of Roboto: ``python -m documents.fonts`` (again after upgrading font-roboto).

Each keeps its characters' glyphs and drops what fpdf2 never uses (OpenType layout tables, hinting) and
what only costs time to read: the Unicode-platform cmaps beside the Windows ones, and the derivation of
glyph names from the cmap on every load (the names are stored instead).
"""

from pathlib import Path

import font_roboto
from fontTools import subset
from fontTools.ttLib import TTFont

from documents.fonts import STYLES, cut_font, is_latin


def full_font(style: str) -> Path:
    return Path(font_roboto.__file__).parent / "files" / f"Roboto-{STYLES[style]}.ttf"


def cut(style: str, latin: bool) -> int:
    font = TTFont(full_font(style), recalcTimestamp=False)  # the same bytes on every run
    wanted = [u for u in font.getBestCmap() if is_latin(u) == latin]
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF"]
    options.hinting = False
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.name_IDs = ["*"]
    options.glyph_names = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)
    font["cmap"].tables = [t for t in font["cmap"].tables if t.platformID == 3]
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 2.0, [], {}
    post.glyphOrder = font.getGlyphOrder()
    font.save(cut_font(style, latin))
    return len(wanted)


if __name__ == "__main__":
    for style in STYLES:
        for latin in (True, False):
            print(f"{cut_font(style, latin).name}: {cut(style, latin)} characters")
