"""A scan: the first pages rendered (pypdfium2) and read by Tesseract (``image_to_data``: each word with its
box and confidence), then the same positional reading as a text layer. A scanner turns a page a little;
the words' positions are turned back by the slant of the lines Tesseract found, so "the same line" and
"the same column" still hold."""

import math
import signal
from collections import defaultdict
from dataclasses import dataclass
from statistics import median

import pypdfium2
import pytesseract
from PIL import Image, ImageOps

from integrations.certificate_reader.limits import ReadingLimits, UnreadableCertificate
from integrations.certificate_reader.words import Box, Word

MAX_PIXELS = 12_000_000  # a letter page at 300 dpi is 8.4 million; a huge page is rendered coarser
MIN_INK = 80  # dark pixels at 300 dpi: a letter of 8 pt has several hundred, a speck a few
MIN_WORDS = 10  # words of three letters or more, read with confidence, at least 3.5 pt tall


def _scale(width_pt: float, height_pt: float, dpi: int) -> float:
    scale = dpi / 72
    pixels = width_pt * scale * height_pt * scale
    return scale if pixels <= MAX_PIXELS else math.sqrt(MAX_PIXELS / (width_pt * height_pt))


def _kept(text: str, conf: float) -> bool:
    """Not the marks a scanner or the form's rules leave: no confidence, or mostly not letters or digits."""
    if not text or conf < 30:
        return False
    letters = sum(1 for c in text if c.isalnum() or c in "$¥&")
    return letters * 2 >= len(text)


def _slant(data: dict[str, list[object]]) -> float:
    """The median slope (dy/dx) of the text lines: a scan's rotation."""
    by_line: dict[tuple[object, ...], list[tuple[float, float]]] = defaultdict(list)
    for i, text in enumerate(data["text"]):
        if str(text).strip() and float(str(data["conf"][i])) > 50:
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            left, top, height = (int(str(data[k][i])) for k in ("left", "top", "height"))
            width = int(str(data["width"][i]))
            by_line[key].append((left + width / 2, top + height))
    slopes = []
    for points in by_line.values():
        if len(points) < 3 or max(p[0] for p in points) - min(p[0] for p in points) < 300:
            continue
        mx = sum(p[0] for p in points) / len(points)
        my = sum(p[1] for p in points) / len(points)
        sxx = sum((p[0] - mx) ** 2 for p in points)
        slopes.append(sum((p[0] - mx) * (p[1] - my) for p in points) / sxx)
    return median(slopes) if len(slopes) >= 3 else 0.0


def _overlaps(a: Word, b: Word) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.top < b.bottom and b.top < a.bottom


@dataclass
class _Page:
    image: Image.Image
    scale: float  # pixels per point
    slope: float  # the scan's slant, which the words' positions were turned back by


def _page_words(page: _Page, number: int, limits: ReadingLimits) -> list[Word]:
    """Tesseract's words read twice: as a page of text (``--psm 3``, which finds the table's lone letters)
    and as sparse text (``--psm 11``, which finds small isolated labels the first misses); the second
    adds only words where the first found none."""
    words, page.slope = _tesseract(page.image, number, page.scale, limits, "--psm 3")
    sparse, _ = _tesseract(page.image, number, page.scale, limits, "--psm 11")
    return words + [w for w in sparse if not any(_overlaps(w, v) for v in words)]


class Cells:
    """Reads one character in a box of a scanned page again (``--psm 10``, limited to the characters the box
    may hold), for the layout reading; nothing when the box holds no more ink than a scanner's specks."""

    def __init__(self, pages: dict[int, _Page], limits: ReadingLimits) -> None:
        self.pages, self.limits = pages, limits

    def __call__(self, number: int, box: Box, characters: str, line: bool = False) -> list[Word]:
        """The one character (or, with ``line``, the one line of text) in ``box``, as a single word
        placed at the box; nothing when the box holds no ink or Tesseract is unsure of it."""
        page = self.pages.get(number)
        if page is None:
            return []
        cos, sin = math.cos(math.atan(page.slope)), math.sin(math.atan(page.slope))
        corners = [(x * page.scale, y * page.scale) for x in (box.x0, box.x1) for y in (box.top, box.bottom)]
        turned = [(x * cos - y * sin, x * sin + y * cos) for x, y in corners]  # back onto the scan
        left, top = min(p[0] for p in turned) - 2, min(p[1] for p in turned) - 2
        right, bottom = max(p[0] for p in turned) + 2, max(p[1] for p in turned) + 2
        crop = page.image.crop((int(left), int(top), int(right), int(bottom)))
        ink = sum(count for value, count in enumerate(crop.histogram()) if value < 128)
        if ink < MIN_INK * (page.scale / (300 / 72)) ** 2:
            return []
        larger = crop.resize((crop.width * 2, crop.height * 2), Image.Resampling.LANCZOS)
        framed = ImageOps.expand(larger.point(lambda v: 255 if v > 140 else 0), border=20, fill=255)
        mode = "7" if line else "10"
        found, _ = _tesseract(
            framed, number, page.scale, self.limits, f"--psm {mode} -c tessedit_char_whitelist={characters}"
        )
        found = [w for w in found if w.confidence >= 50 and all(c in characters for c in w.text)]
        if not found or (not line and (len(found) != 1 or len(found[0].text) != 1)):
            return []
        text = "".join(w.text for w in sorted(found, key=lambda w: w.x0))
        confidence = min(w.confidence for w in found)
        return [Word(text, box.x0, box.top, box.x1, box.bottom, number, confidence, ocr=True)]


def _tesseract(
    image: Image.Image, page: int, scale: float, limits: ReadingLimits, config: str
) -> tuple[list[Word], float]:
    try:
        data = pytesseract.image_to_data(
            image,
            output_type=pytesseract.Output.DICT,
            config=config,
            timeout=max(1, int(limits.wall_seconds)),
        )
    except pytesseract.TesseractError as error:
        if error.status in (-signal.SIGXCPU, -signal.SIGKILL):
            raise UnreadableCertificate(
                f"reading used more than {limits.cpu_seconds} s of processor time"
            ) from error
        raise UnreadableCertificate("Tesseract could not read the scanned pages") from error
    except RuntimeError as error:  # pytesseract's timeout
        raise UnreadableCertificate(f"reading took longer than {limits.wall_seconds:g} s") from error
    slope = _slant(data)
    cos, sin = math.cos(math.atan(slope)), math.sin(math.atan(slope))
    words = []
    for i, raw in enumerate(data["text"]):
        text, conf = str(raw).strip(), float(str(data["conf"][i]))
        left, top, width, height = (int(str(data[k][i])) for k in ("left", "top", "width", "height"))
        if not _kept(text, conf) or width > 2.5 * height * len(text) or height < 2.5 * scale:
            continue  # a form's rule read as "III", or a speck
        text = text.replace("¥", "Y")  # Tesseract's usual misreading of a lone Y (its low confidence stays)
        cx, cy = left + width / 2, top + height / 2
        x, y = cx * cos + cy * sin, -cx * sin + cy * cos  # turned back by the lines' slant
        words.append(
            Word(
                text,
                (x - width / 2) / scale,
                (y - height / 2) / scale,
                (x + width / 2) / scale,
                (y + height / 2) / scale,
                page=page,
                confidence=conf,
                ocr=True,
            )
        )
    return words, slope


def words(pdf: bytes, pages: int, limits: ReadingLimits) -> tuple[list[Word], Cells]:
    """The words Tesseract reads on the first ``limits.ocr_pages`` pages, and a reader of single characters
    on those pages; refuses when there are no words."""
    found: list[Word] = []
    rendered: dict[int, _Page] = {}
    document = pypdfium2.PdfDocument(pdf)
    try:
        for index in range(min(pages, limits.ocr_pages)):
            page = document[index]
            width, height = page.get_size()
            scale = _scale(width, height, limits.ocr_dpi)
            rendered[index + 1] = _Page(page.render(scale=scale, grayscale=True).to_pil(), scale, 0.0)
            found += _page_words(rendered[index + 1], index + 1, limits)
            page.close()
    finally:
        document.close()
    real = [w for w in found if len(w.key) >= 3 and w.confidence >= 60 and w.bottom - w.top >= 3.5]
    if len(real) < MIN_WORDS:
        raise UnreadableCertificate("no text could be read from the certificate, even by OCR")
    return found, Cells(rendered, limits)
