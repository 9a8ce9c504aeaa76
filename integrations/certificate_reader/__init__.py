"""Reading certificates of insurance (ACORD 25, and gigcover's own) into a ``ParsedCertificate``.

    read_certificate(pdf_bytes) -> ParsedCertificate      # or raises UnreadableCertificate(reason)

Three forms of the same certificate are read: a fillable PDF by its AcroForm fields (pypdf), a flattened PDF
by the position of the words of its text layer (pdfplumber), a scan by OCR (pypdfium2 renders the page,
Tesseract reads it) followed by the same positional reading. Everything runs in a child process bounded in
pages, CPU time, memory and wall time; a field that cannot be read is ``Read()`` (not found), never guessed.
"""

from integrations.certificate_reader.limits import ReadingLimits, UnreadableCertificate
from integrations.certificate_reader.reading import read_certificate

__all__ = ["ReadingLimits", "UnreadableCertificate", "read_certificate"]
