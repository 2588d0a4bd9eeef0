"""Database entries through SQLAlchemy: their URLs, one read-only connection per database."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from reporting.data import sql as sqltext
from reporting.outline.model import DataSource
from reporting.text import one_line

CONNECT_TIMEOUT = 10  # seconds; an unreachable host fails the build soon, not after minutes
_RECURSIVE = re.compile(r"(\s*with)(\s+recursive)?\s", re.IGNORECASE)


class DataProblem(Exception):
    """One problem with a database entry or query, said as the message shows it."""


def shown(url: URL) -> str:
    """The URL as messages print it: never its password."""
    return url.render_as_string(hide_password=True)


def reason(exc: BaseException, url: URL | None = None) -> str:
    """The database's own message, first line only, with the password taken out if it is in it."""
    original = getattr(exc, "orig", None) or exc
    lines = [line for line in str(original).splitlines() if line.strip()]
    text = one_line(lines[0] if lines else type(original).__name__)
    if url is not None and url.password:
        text = text.replace(str(url.password), "***")
    return text


def database_url(name: str, source: DataSource, env: Mapping[str, str], folder: Path) -> URL:
    """The entry's URL, from `url` or the variable `url_env`; a relative SQLite file is
    relative to the outline's folder, like a data file."""
    if source.url_env is not None:
        if not env.get(source.url_env):
            raise DataProblem(
                f"data.{name}.url_env: the variable {source.url_env} is not set "
                "(it holds the database URL)"
            )
        text, where = env[source.url_env], f"data.{name}.url_env ({source.url_env})"
    else:
        assert source.url is not None
        text, where = source.url, f"data.{name}.url"
    try:
        url = make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        raise DataProblem(f"{where}: not a database URL (dialect+driver://…)") from None
    database = url.database or ""
    # A `file:` URI is the driver's to read; a plain path is the outline's, like a data file.
    if url.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        if database.startswith("file:"):
            return url
        path = folder / database
        if not path.is_file():
            raise DataProblem(f"data.{name}: database file not found: {database}")
        url = url.set(database=str(path.resolve()))
    return url


def connect(url: URL) -> tuple[Engine, Connection]:
    """An engine and its one connection, read-only where the database allows saying so."""
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    try:
        engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise DataProblem(f"no driver for {url.drivername} ({reason(exc)})") from None
    try:
        connection = engine.connect()
    except Exception as exc:  # every driver has its own errors for a refused connection
        engine.dispose()
        raise DataProblem(f"cannot connect to {shown(url)}: {reason(exc, url)}") from None
    if url.get_backend_name() == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = ON")
        connection.commit()
    return engine, connection


def with_tables(sql: str, tables: Mapping[str, str]) -> str:
    """The SQL with each entry name standing for its table: `with name as (select * from t)`.

    `tables` maps quoted names to quoted tables, only for entries whose `table` differs from
    their name; a query that starts with its own `with` gets them first in its list.
    """
    if not tables:
        return sql
    ctes = ", ".join(f"{name} as (select * from {table})" for name, table in tables.items())
    if sqltext.first_word(sql) == "with":
        match = _RECURSIVE.match(sql)
        if match is not None:
            return f"{match[1]}{match[2] or ''} {ctes}, {sql[match.end() :]}"
    return f"with {ctes}\n{sql}"


def quoted(connection: Connection, table: str) -> str:
    """A name or `schema.table` quoted for the database where a part needs it."""
    preparer = connection.dialect.identifier_preparer
    return ".".join(preparer.quote(part) for part in table.split("."))


def fetch(
    connection: Connection, sql: str, values: Mapping[str, Any], limit: int
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one query in a transaction that is rolled back: a report reads, never writes.

    DataProblem for a statement that returns no rows; the driver's errors pass through.
    """
    if sqltext.first_word(sql) not in ("select", "with", "values", "table"):
        raise DataProblem("not a query: give one select (or with …) that returns rows")
    statement = sa.text(sqltext.for_sqlalchemy(sql))
    transaction = connection.begin()
    try:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        # A server-side cursor where the driver has one: rows beyond the limit stay unread.
        streaming = {"stream_results": True}
        result = connection.execute(statement, dict(values), execution_options=streaming)
        if not result.returns_rows:
            raise DataProblem("not a query: it returns no rows")
        columns = list(result.keys())
        rows = [tuple(row) for row in result.fetchmany(limit + 1)]
        result.close()
    finally:
        transaction.rollback()
    return columns, rows
