"""Raster previews of rendered PDFs (pypdfium2): what the user sees before saving."""

from __future__ import annotations

import io

import pypdfium2 as pdfium

from kms.rendering.errors import RenderError


def page_count(pdf: bytes) -> int:
    """Number of pages of a PDF."""
    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def page_png(pdf: bytes, page: int = 0, *, dpi: int = 100) -> bytes:
    """One page as PNG bytes (page counts from 0)."""
    document = pdfium.PdfDocument(pdf)
    try:
        if not 0 <= page < len(document):
            raise RenderError(f"Das PDF hat keine Seite {page + 1}.")
        bitmap = document[page].render(scale=dpi / 72)
        out = io.BytesIO()
        bitmap.to_pil().save(out, format="PNG")
        return out.getvalue()
    finally:
        document.close()
