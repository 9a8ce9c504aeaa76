"""A flattened certificate with a text layer: its words with their positions (pdfplumber), read by layout."""

from domain.certificates import ParsedCertificate


def read(pdf: bytes, pages: int) -> ParsedCertificate | None:
    """The certificate from the text layer, or None when the pages carry (almost) no text."""
    return None
