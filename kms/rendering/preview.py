"""Bounded raster previews of PDFs and images: the one place a preview is rendered.

A tiny PDF can declare a page of 225 × 200,000 pt, and a small PNG can declare 50,000 ×
50,000 pixels; rendering either naively takes gigabytes. So every preview is checked before
it is rendered: at most MAX_PREVIEW_PIXELS pixels, only the first MAX_PREVIEW_PAGES pages.
PDF pages are rendered in a child process with an address-space limit and a timeout, so a
page that is slow or hungry for another reason ends that child, never the server.
"""

from __future__ import annotations

import io
import os
import resource
import subprocess
import sys
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from kms.rendering.errors import RenderError

MAX_PREVIEW_PIXELS = 16_000_000  # ~64 MB as RGBA; an A4 page at 300 dpi is 8.7 million
MAX_PREVIEW_PAGES = 500
PREVIEW_SECONDS = 20
PREVIEW_MEMORY_BYTES = 1536 * 2**20  # address space of the rendering child (1.5 GiB, an OS limit)

TOO_LARGE = (
    "Für diese Datei zeigt KMS keine Vorschau: die Seite oder das Bild ist zu groß "
    "({pixels} Mio. Bildpunkte, erlaubt sind {limit} Mio.). Die Datei ist gespeichert; "
    "bitte laden Sie sie herunter."
)
UNREADABLE = "Die PDF-Datei lässt sich nicht öffnen (beschädigt oder mit Passwort)."
FAILED = (
    "Für diese Datei konnte KMS keine Vorschau erzeugen (zu aufwendig oder beschädigt). "
    "Die Datei ist gespeichert; bitte laden Sie sie herunter."
)
# Exit codes of the rendering child; anything else (killed, MemoryError) means FAILED.
_EXIT_UNREADABLE, _EXIT_TOO_LARGE, _EXIT_NO_PAGE = 3, 4, 5


def check_pixels(width: float, height: float) -> None:
    """Refuse a preview of more than MAX_PREVIEW_PIXELS pixels (a German RenderError)."""
    pixels = max(width, 0) * max(height, 0)
    if pixels > MAX_PREVIEW_PIXELS:
        raise RenderError(
            TOO_LARGE.format(
                pixels=f"{pixels / 1e6:,.0f}".replace(",", "."),
                limit=MAX_PREVIEW_PIXELS // 1_000_000,
            )
        )


def page_count(pdf: bytes | Path) -> int:
    """Number of pages of a PDF (opening parses only the cross-reference table)."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise RenderError(UNREADABLE) from exc
    try:
        return len(document)
    finally:
        document.close()


def page_png(
    pdf: bytes | Path, page: int = 0, *, dpi: int | None = 100, width: int | None = None
) -> bytes:
    """One page (counted from 0) as PNG bytes, at `dpi` or `width` pixels wide (≤ 4× zoom).

    Rendered in a child process bounded in pixels, memory and time; every refusal is a
    German RenderError and nothing else is affected.
    """
    if not 0 <= page < MAX_PREVIEW_PAGES:
        raise RenderError(f"KMS zeigt nur die ersten {MAX_PREVIEW_PAGES} Seiten als Vorschau.")
    source = str(pdf) if isinstance(pdf, Path) else "-"
    args = [sys.executable, "-m", "kms.rendering.preview", source, str(page)]
    args += [f"width={width}" if width else f"dpi={dpi or 100}", str(PREVIEW_MEMORY_BYTES)]
    # The child imports kms from the same tree as this process, wherever it was started.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([_PACKAGE_ROOT, *sys.path[1:]])}
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
            args,
            input=b"" if isinstance(pdf, Path) else pdf,
            capture_output=True,
            timeout=PREVIEW_SECONDS,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(FAILED) from exc
    if done.returncode == 0:
        return done.stdout
    message = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode in (_EXIT_UNREADABLE, _EXIT_TOO_LARGE, _EXIT_NO_PAGE) and message:
        raise RenderError(message)
    raise RenderError(FAILED)


_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def _limit_memory(limit: int) -> None:
    """In the child, before it reads anything: cap its address space (never raise it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = limit if hard == resource.RLIM_INFINITY else min(hard, limit)
    if soft == resource.RLIM_INFINITY or soft > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _render(source: bytes | str, page: int, spec: str) -> bytes:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        raise _ChildError(_EXIT_UNREADABLE, UNREADABLE) from exc
    try:
        if not 0 <= page < len(document):
            raise _ChildError(_EXIT_NO_PAGE, f"Das PDF hat keine Seite {page + 1}.")
        pdf_page = document[page]
        w, h = pdf_page.get_size()
        kind, _, value = spec.partition("=")
        scale = int(value) / max(w, 1) if kind == "width" else int(value) / 72
        scale = min(scale, 4.0)
        try:
            check_pixels(w * scale, h * scale)
        except RenderError as exc:
            raise _ChildError(_EXIT_TOO_LARGE, str(exc)) from exc
        out = io.BytesIO()
        pdf_page.render(scale=scale).to_pil().save(out, format="PNG")
        return out.getvalue()
    finally:
        document.close()


class _ChildError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def open_image_bounded(
    data: bytes | Path, *, formats: tuple[str, ...] | None = None
) -> Image.Image:
    """Open an image lazily and refuse it before decoding if it has too many pixels.

    Returns a PIL image (not yet loaded); Pillow's own decompression-bomb limit (89 million
    pixels, error only at twice that) is far above what a preview or a logo needs.
    """
    try:
        image = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data, formats=formats)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise RenderError("Das Bild lässt sich nicht lesen.") from exc
    try:
        check_pixels(*image.size)
    except RenderError:
        image.close()
        raise
    return image


def _main(argv: list[str]) -> int:
    _limit_memory(int(argv[3]))
    source: bytes | str = sys.stdin.buffer.read() if argv[0] == "-" else argv[0]
    try:
        png = _render(source, int(argv[1]), argv[2])
    except _ChildError as exc:
        sys.stderr.write(str(exc))
        return exc.code
    sys.stdout.buffer.write(png)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
