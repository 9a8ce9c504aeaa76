"""A small layer over fpdf2: one page style for every gigcover document."""

from fpdf import FPDF

from documents.fonts import STYLES, cut_font
from documents.fonts.prepared import attach, prepared

INK, MUTED, RULE = (29, 35, 48), (91, 100, 117), (210, 214, 222)
FAMILY, FALLBACK = "Roboto", "RobotoOther"


class DocumentPdf(FPDF):
    def __init__(self, title: str, watermark: str | None = None) -> None:
        super().__init__(format="Letter", unit="pt")
        self.set_margins(48, 48, 48)
        self.set_auto_page_break(auto=True, margin=60)
        for style in STYLES:
            attach(self, prepared(cut_font(style, latin=True), FAMILY, style))
        self._latin = prepared(cut_font("", latin=True), FAMILY, "").characters
        self._fallback = False
        self.set_title(title)
        self.set_creator("gigcover")
        self._doc_title, self._watermark = title, watermark

    def normalize_text(self, text: str) -> str:
        """Every text passes here before fpdf2 lays it out: one with a character beyond the Latin cut (a
        Greek or Cyrillic name, say) brings in the other cut as the fallback, for this document."""
        if not self._fallback and any(ord(c) >= 0x20 and ord(c) not in self._latin for c in text):
            for style in STYLES:
                attach(self, prepared(cut_font(style, latin=False), FALLBACK, style))
            self.set_fallback_fonts([FALLBACK])
            self._fallback = True
        return super().normalize_text(text)

    def header(self) -> None:
        if self._watermark:
            self.set_font(FAMILY, "B", 9)
            self.set_text_color(198, 40, 40)
            self.cell(0, 12, self._watermark, align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_font(FAMILY, "B", 16)
        self.set_text_color(*INK)
        self.cell(0, 22, self._doc_title, new_x="LMARGIN", new_y="NEXT")
        self.rule()

    def footer(self) -> None:
        self.set_y(-40)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 10, f"gigcover · page {self.page_no()}", align="C")

    def rule(self) -> None:
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y() + 4, self.w - self.r_margin, self.get_y() + 4)
        self.ln(12)

    def section(self, heading: str) -> None:
        self.ln(4)
        self.set_font(FAMILY, "B", 10)
        self.set_text_color(*MUTED)
        self.cell(0, 14, heading.upper(), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)

    def fields(self, rows: list[tuple[str, str]], label_width: float = 170) -> None:
        for label, value in rows:
            self.set_font(FAMILY, "", 10)
            self.set_text_color(*MUTED)
            self.cell(label_width, 15, label)
            self.set_text_color(*INK)
            self.multi_cell(0, 15, value, new_x="LMARGIN", new_y="NEXT")

    def paragraph(self, text: str, size: float = 9) -> None:
        self.set_font(FAMILY, "", size)
        self.set_text_color(*MUTED)
        self.multi_cell(0, size * 1.4, text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)

    def to_bytes(self) -> bytes:
        return bytes(self.output())
