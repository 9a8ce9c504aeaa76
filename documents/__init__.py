"""Certificates of insurance and premium bills: real PDFs (fpdf2), stored behind a small interface."""
