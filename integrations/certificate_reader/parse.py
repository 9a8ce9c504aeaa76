"""Inside the child: open the PDF, refuse what cannot be read, and pick the reading that fits its form."""

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from domain.certificates import ParsedCertificate
from integrations.certificate_reader.limits import ReadingLimits, UnreadableCertificate

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


def parse(pdf: bytes, limits: ReadingLimits) -> ParsedCertificate:
    """Read one PDF (in the bounded child). Raises ``UnreadableCertificate`` with the reason."""
    from integrations.certificate_reader import fields, ocr, text_layer

    reader = _open(pdf, limits)
    pages = len(reader.pages)
    certificate = fields.read(reader, pages)
    if certificate is not None:
        return certificate
    certificate = text_layer.read(pdf, pages)
    if certificate is not None:
        return certificate
    return ocr.read(pdf, pages, limits)
