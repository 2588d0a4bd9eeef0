"""Render page 1 of a built report's DOCX to a PNG, as LibreOffice shows it (for the README).

    .venv/bin/python scripts/render_page.py reports_out/quarterly-review.docx docs/images/page-1.png

Needs LibreOffice (`soffice`) and poppler's `pdftoppm` (Debian: libreoffice-writer, poppler-utils).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def render(docx: Path, png: Path, dpi: int) -> None:
    """DOCX → PDF (LibreOffice, a private profile) → page 1 as PNG (pdftoppm)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    pdftoppm = shutil.which("pdftoppm")
    if soffice is None or pdftoppm is None:
        sys.exit("needs soffice and pdftoppm: apt-get install libreoffice-writer poppler-utils")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run(
            [soffice, f"-env:UserInstallation=file://{folder / 'profile'}", "--headless",
             "--convert-to", "pdf", "--outdir", str(folder), str(docx)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        pdf = folder / (docx.stem + ".pdf")
        subprocess.run(
            [pdftoppm, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf),
             str(folder / "page")],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        png.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(folder / "page.png", png)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("docx", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--dpi", type=int, default=70)
    args = parser.parse_args()
    render(args.docx, args.png, args.dpi)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
