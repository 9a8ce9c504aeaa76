"""Inside the child: open the PDF, refuse what cannot be read, and pick the reading that fits its form."""

import io
import logging
from dataclasses import replace

import pytesseract
from pypdf import PdfReader
from pypdf.errors import LimitReachedError, PdfReadError

from domain.certificates import ParsedCertificate, ReadMethod
from integrations.certificate_reader import fields, ocr, text_layer
from integrations.certificate_reader.gigcover import is_gigcover, read_gigcover
from integrations.certificate_reader.layout import CellReader, read_acord
from integrations.certificate_reader.limits import ReadingLimits, UnreadableCertificate, out_of_memory
from integrations.certificate_reader.words import Word, first

logging.getLogger("pypdf").setLevel(logging.ERROR)


def _open(pdf: bytes, limits: ReadingLimits) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(pdf), strict=False)
        encrypted = reader.is_encrypted
    except MemoryError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as error:
        raise UnreadableCertificate("the PDF is damaged and cannot be opened") from error
    if encrypted:
        raise UnreadableCertificate("the PDF is encrypted")
    try:
        pages = len(reader.pages)
    except MemoryError:
        raise
    except Exception as error:
        raise UnreadableCertificate("the PDF is damaged and cannot be opened") from error
    if pages == 0:
        raise UnreadableCertificate("the PDF has no pages")
    if pages > limits.max_pages:
        raise UnreadableCertificate(
            f"the PDF has {pages} pages; a certificate has at most {limits.max_pages}"
        )
    return reader


def _by_layout(
    words: list[Word], method: ReadMethod, pages: int, cells: CellReader | None = None
) -> ParsedCertificate:
    if is_gigcover(words):
        return read_gigcover(words, method, pages)
    certificate = read_acord(words, method, pages, cells)
    if first(words, "CERTIFICATE OF LIABILITY INSURANCE") is None and first(words, "ACORD 25") is None:
        return replace(certificate, form="unknown")
    return certificate


def _check_streams(reader: PdfReader, limits: ReadingLimits) -> None:
    """Inflate each page's content with pypdf, which stops at its output limit: a zip bomb is refused here,
    before pdfplumber (which has no such limit) would try to inflate it."""
    for page in reader.pages[: limits.max_pages]:
        try:
            contents = page.get_contents()
            if contents is not None:
                contents.get_data()
        except LimitReachedError as error:
            raise UnreadableCertificate(
                "the PDF holds a compressed stream that inflates beyond what a certificate needs "
                "(a zip bomb?)"
            ) from error
        except MemoryError:
            raise
        except Exception as error:
            raise UnreadableCertificate("the PDF is damaged and cannot be opened") from error


def parse(pdf: bytes, limits: ReadingLimits) -> ParsedCertificate:
    """Read one PDF (in the bounded child). Raises ``UnreadableCertificate`` with the reason."""
    reader = _open(pdf, limits)
    pages = len(reader.pages)
    certificate = fields.read(reader, pages)
    if certificate is not None:
        return certificate
    _check_streams(reader, limits)
    try:
        found = text_layer.words(pdf, min(pages, limits.max_pages))
    except MemoryError:
        raise
    except Exception as error:
        if out_of_memory(error):  # pdfplumber wraps pdfminer's MemoryError
            raise MemoryError from error
        raise UnreadableCertificate("the PDF is damaged and its text cannot be read") from error
    if sum(1 for w in found if w.key) >= text_layer.MIN_WORDS:
        return _by_layout(found, ReadMethod.TEXT_LAYER, pages)
    try:
        found, cells = ocr.words(pdf, pages, limits)
    except (UnreadableCertificate, MemoryError):
        raise
    except pytesseract.TesseractNotFoundError as error:
        raise UnreadableCertificate(
            "the certificate is a scan and Tesseract (OCR) is not installed"
        ) from error
    except Exception as error:
        raise UnreadableCertificate("the scanned pages could not be rendered for OCR") from error
    return _by_layout(found, ReadMethod.OCR, pages, cells)
