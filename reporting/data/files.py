"""Data files (CSV, Parquet, JSON) as views of one in-memory DuckDB connection."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from reporting.outline.model import DataSource

# Readers by file name ending; DuckDB's own readers, built into the wheel (no download).
READERS = {
    ".csv": "read_csv_auto",
    ".tsv": "read_csv_auto",
    ".csv.gz": "read_csv_auto",
    ".tsv.gz": "read_csv_auto",
    ".parquet": "read_parquet",
    ".pq": "read_parquet",
    ".json": "read_json_auto",
    ".jsonl": "read_json_auto",
    ".ndjson": "read_json_auto",
    ".json.gz": "read_json_auto",
    ".jsonl.gz": "read_json_auto",
}
# A query may only name extensions the wheel holds: nothing is installed or loaded on demand,
# so no build reaches the network for one (and `https://` paths fail instead of downloading).
CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
_CHUNK = 1 << 20
# A CSV or JSON file that several queries read is loaded once into a table: parsing a
# 1,000,000-row CSV costs as much as a query over the loaded table costs ten times over. A
# file larger than this stays a view, read by each query, so memory holds no huge table.
LOAD_BYTES = 500_000_000


def connect() -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection that downloads no extension."""
    return duckdb.connect(":memory:", config=dict(CONFIG))


def data_path(source: DataSource, folder: Path) -> Path:
    """Where a file entry's file is: its path, relative to the outline's folder."""
    assert source.path is not None
    return (folder / source.path).resolve()


def reader(path: Path) -> str | None:
    """DuckDB's reader for the file, by its name's ending; None for a kind it cannot read."""
    name = path.name.lower()
    for ending in sorted(READERS, key=len, reverse=True):  # `.csv.gz` before `.gz`
        if name.endswith(ending):
            return READERS[ending]
    return None


def file_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes, read in chunks: a data file may be larger than memory."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def register(
    con: duckdb.DuckDBPyConnection, name: str, path: Path, read: str, *, readers: int = 1
) -> None:
    """Make the file a view (or a table, see LOAD_BYTES) named after its entry.

    `readers` is how many queries read the file.
    """
    literal = "'" + str(path).replace("'", "''") + "'"
    load = readers > 1 and read != "read_parquet" and path.stat().st_size <= LOAD_BYTES
    kind = "table" if load else "view"
    con.execute(f'create {kind} "{name}" as select * from {read}({literal})')
