"""Previews are bounded in pixels, pages, memory and time before anything is rendered."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from kms.rendering import preview
from kms.rendering.errors import RenderError


def tall_pdf(height_pt: int, width_pt: int = 225) -> bytes:
    """A valid one-page PDF of a few hundred bytes whose page is `width_pt` × `height_pt`."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width_pt} {height_pt}] >>".encode(),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_the_pixel_bomb_is_refused_under_a_memory_limit(tmp_path: Path) -> None:
    """A 225 × 200,000 pt page (≈ 3 GB as a bitmap) is refused in German by a process
    limited to 1 GB of address space, which then still renders a normal page."""
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(tall_pdf(200_000))
    normal = tmp_path / "a4.pdf"
    normal.write_bytes(tall_pdf(842, 595))
    assert len(bomb.read_bytes()) < 600
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pathlib import Path
        limit = 1024 * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        from kms.errors import KmsError
        from kms.modules.documents import service
        try:
            service.render_pdf_page(Path({str(bomb)!r}), 0)
        except KmsError as exc:
            print("REFUSED", exc.message)
        png = service.render_pdf_page(Path({str(normal)!r}), 0, width=300)
        print("NORMAL", png[:8] == b"\\x89PNG\\r\\n\\x1a\\n")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "REFUSED Für diese Datei zeigt KMS keine Vorschau" in done.stdout
    assert "zu groß" in done.stdout
    assert "NORMAL True" in done.stdout


def test_the_issue_page_of_20000_pt_is_refused_before_rendering() -> None:
    """The probe's 225 × 20,000 pt page would be 900 × 80,000 px: refused, not rendered."""
    with pytest.raises(RenderError, match=r"zu groß \(72 Mio\. Bildpunkte"):
        preview.page_png(tall_pdf(20_000), 0, width=900)


def test_a_normal_page_renders_at_the_requested_width() -> None:
    """An A4 page renders as a PNG of the asked width."""
    png = preview.page_png(tall_pdf(842, 595), 0, width=600)
    with Image.open(io.BytesIO(png)) as img:
        assert (img.format, img.width) == ("PNG", 600)


def test_a_slow_render_ends_in_a_german_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the rendering child exceeds its time, it is killed and the user reads German."""
    monkeypatch.setattr(preview, "PREVIEW_SECONDS", 0.001)
    with pytest.raises(RenderError, match="konnte KMS keine Vorschau erzeugen"):
        preview.page_png(tall_pdf(842, 595), 0)


def test_a_child_out_of_memory_ends_in_a_german_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that runs out of its address space fails alone, with a German message."""
    monkeypatch.setattr(preview, "PREVIEW_MEMORY_BYTES", 64 * 1024 * 1024)
    with pytest.raises(RenderError, match="konnte KMS keine Vorschau erzeugen"):
        preview.page_png(tall_pdf(842, 595), 0, width=2400)  # 8 million px, over 64 MB


def test_pages_beyond_the_page_limit_are_not_rendered() -> None:
    """Only the first MAX_PREVIEW_PAGES pages are offered as a preview."""
    with pytest.raises(RenderError, match="nur die ersten 500 Seiten"):
        preview.page_png(tall_pdf(842, 595), preview.MAX_PREVIEW_PAGES)
    with pytest.raises(RenderError, match="keine Seite 2"):
        preview.page_png(tall_pdf(842, 595), 1)


def test_an_image_with_too_many_pixels_is_refused_before_decoding() -> None:
    """A small PNG declaring 5,000 × 5,000 pixels is refused from its header."""
    buf = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buf, "PNG")
    assert len(buf.getvalue()) < 100_000
    with pytest.raises(RenderError, match=r"\(25 Mio\. Bildpunkte"):
        preview.open_image_bounded(buf.getvalue())
