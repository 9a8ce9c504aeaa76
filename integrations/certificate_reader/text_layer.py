"""A flattened certificate with a text layer: its words with their positions (pdfplumber), read by layout."""

import io

import pdfplumber

from integrations.certificate_reader.words import Word

MIN_WORDS = 25  # fewer words than this on the first pages: treat the PDF as a scan


def words(pdf: bytes, pages: int) -> list[Word]:
    """The words of the first ``pages`` pages, positions in points from each page's top-left corner."""
    found: list[Word] = []
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for number, page in enumerate(document.pages[:pages], start=1):
            for word in page.extract_words(keep_blank_chars=False, x_tolerance=1.5, y_tolerance=2):
                found.append(
                    Word(word["text"], word["x0"], word["top"], word["x1"], word["bottom"], page=number)
                )
            page.close()
    return found
