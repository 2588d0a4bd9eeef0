"""LibreOffice as the reader of our documents: a DOCX converted to PDF, as a person would open it.

Each conversion gets its own LibreOffice profile, so conversions running at once (tests, other
jobs) never share one. `Unavailable` says why no conversion can run here.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_S = 180


class Unavailable(Exception):
    """No LibreOffice (`soffice`) here; the message says how to get it."""


def to_pdf(document: Path, folder: Path) -> Path:
    """Convert `document` to PDF in `folder` with LibreOffice headless; the PDF's path."""
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        raise Unavailable("no LibreOffice: apt-get install libreoffice-writer")
    with tempfile.TemporaryDirectory(prefix="reporting-lo-") as profile:
        done = subprocess.run(
            [binary, f"-env:UserInstallation=file://{profile}", "--headless",
             "--convert-to", "pdf", "--outdir", str(folder), str(document)],
            capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
    pdf = folder / (document.stem + ".pdf")
    if done.returncode != 0 or not pdf.is_file():
        raise AssertionError(f"LibreOffice could not convert {document}: {done.stderr[-500:]}")
    return pdf
