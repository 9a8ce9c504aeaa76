"""A fillable ACORD 25: its AcroForm fields, by their ACORD names (method FORM_FIELDS, confidence 1.0)."""

from pypdf import PdfReader

from domain.certificates import ParsedCertificate


def read(reader: PdfReader, pages: int) -> ParsedCertificate | None:
    """The certificate from the form's fields, or None when the PDF has no filled-in ACORD fields."""
    return None
