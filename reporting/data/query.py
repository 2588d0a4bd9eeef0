"""The data stage: each section's query run where its data is, checked, kept as plain values.

A query that names only data files (or nothing) runs in one in-memory DuckDB connection where
each file is a view named after its entry; one that names database entries runs on that
database through SQLAlchemy. Which entries a query names is read from its words (see
`sql.names_used`). On a database, the entry name is the table's name unless the entry gives
another `table`: then the name stands for that table through a `with` the query is given.
Every problem of every entry and query is collected and raised at once, before any model call.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from reporting.data import databases, files
from reporting.data import sql as sqltext
from reporting.data.results import DataResults, QueryResult
from reporting.errors import OutlineError
from reporting.outline.model import Outline, ParamValue, Section

# Rows a query may return: a report shows a summary, and a `select *` of a large file would
# otherwise be held in memory whole. More is an error that asks for aggregation.
MAX_ROWS = 100_000
_PLAIN = frozenset({type(None), bool, int, float, str, decimal.Decimal, dt.date, dt.datetime})


@dataclass
class _Database:
    """One database the queries read, by URL; connected when a query first needs it."""

    url: URL
    names: list[str]  # the entries on it; the first is named when it cannot be reached
    engine: Engine | None = None
    connection: Connection | None = None
    problem: str | None = None


@dataclass
class _Run:
    """What a build's queries share: the problems found, the engines opened."""

    outline: Outline
    folder: Path
    values: Mapping[str, ParamValue]
    entry_problems: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)  # entries whose problem is already said
    readers: dict[str, tuple[Path, str]] = field(default_factory=dict)
    databases: dict[str, _Database] = field(default_factory=dict)  # by URL with its password
    entry_database: dict[str, str] = field(default_factory=dict)
    duck: duckdb.DuckDBPyConnection | None = None

    def close(self) -> None:
        """Close every connection this run opened."""
        if self.duck is not None:
            self.duck.close()
        for database in self.databases.values():
            if database.connection is not None:
                database.connection.close()
            if database.engine is not None:
                database.engine.dispose()


def plain(value: Any) -> Any:
    """A driver's value as a plain Python one; the rare other kinds as text."""
    if type(value) in _PLAIN or isinstance(value, dt.date):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)  # a UUID, a time, an interval, …


def _tagged(value: Any) -> list[str]:
    """A value JSON has no type for, with its type: 1.50 (Decimal) differs from "1.50"."""
    # By kind, not class name: a date made while a test froze the clock is a `FakeDate`.
    if isinstance(value, dt.datetime):
        return ["datetime", value.isoformat()]
    if isinstance(value, dt.date):
        return ["date", value.isoformat()]
    return [type(value).__name__, str(value)]


def result_sha256(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """SHA-256 of the columns and rows, canonically serialised: the cache sees new data."""
    text = json.dumps(
        {"columns": list(columns), "rows": [list(row) for row in rows]},
        default=_tagged,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_entries(run: _Run) -> dict[str, str]:
    """Each data file's hash; a missing or unreadable kind of file is a problem of its entry."""
    hashes: dict[str, str] = {}
    for name, source in run.outline.data.items():
        if not source.is_file:
            continue
        path = files.data_path(source, run.folder)
        read = files.reader(path)
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "file not found"
            run.entry_problems.append(f"data.{name}: {what}: {source.path}")
        elif read is None:
            run.entry_problems.append(
                f"data.{name}: cannot read {source.path}: give a .csv, .tsv, .parquet, "
                ".json or .jsonl file (.gz for CSV and JSON)"
            )
        else:
            try:
                hashes[name] = files.file_sha256(path)
            except OSError as exc:
                run.entry_problems.append(f"data.{name}: cannot read {source.path}: {exc}")
            else:
                run.readers[name] = (path, read)
                continue
        run.broken.add(name)
    return hashes


def _database_entries(run: _Run, env: Mapping[str, str]) -> None:
    """Each database entry's URL; entries with the same URL share one database."""
    for name, source in run.outline.data.items():
        if source.is_file:
            continue
        try:
            url = databases.database_url(name, source, env, run.folder)
        except databases.DataProblem as exc:
            run.entry_problems.append(str(exc))
            run.broken.add(name)
            continue
        key = url.render_as_string(hide_password=False)
        run.databases.setdefault(key, _Database(url, [])).names.append(name)
        run.entry_database[name] = key


def _duckdb(run: _Run) -> duckdb.DuckDBPyConnection:
    """The run's DuckDB connection, every readable file a view in it (made on first need)."""
    if run.duck is None:
        run.duck = files.connect()
        queries = [s.query for s in run.outline.walk() if s.query is not None]
        for name, (path, read) in run.readers.items():
            readers = sum(1 for sql in queries if sqltext.names_used(sql, [name]))
            try:
                files.register(run.duck, name, path, read, readers=readers)
            except duckdb.Error as exc:
                source = run.outline.data[name].path
                run.entry_problems.append(
                    f"data.{name}: cannot read {source}: {databases.reason(exc)}"
                )
                run.broken.add(name)
    return run.duck


def _connection(run: _Run, key: str) -> Connection | None:
    """The database's connection, connecting on first need; None when it cannot be reached."""
    database = run.databases[key]
    if database.connection is None and database.problem is None:
        try:
            database.engine, database.connection = databases.connect(database.url)
        except databases.DataProblem as exc:
            database.problem = str(exc)
            run.entry_problems.append(f"data.{database.names[0]}: {exc}")
    return database.connection


def _where(run: _Run, section: Section, sql: str) -> str | None:
    """The key of the database the query reads, "" for DuckDB; None after saying a problem."""
    place = f"{section.place}.query"
    used = sqltext.names_used(sql, run.outline.data)
    file_names = [n for n in used if run.outline.data[n].is_file]
    db_names = [n for n in used if not run.outline.data[n].is_file]
    if file_names and db_names:
        run.problems.append(
            f"{place}: reads {_kinds(file_names, 'a file', 'files')} and "
            f"{_kinds(db_names, 'a database', 'databases')}; one query reads one kind"
        )
        return None
    if any(name in run.broken for name in used):
        return None  # its entry's problem is said once, not again for each query
    keys = list(dict.fromkeys(run.entry_database[name] for name in db_names))
    if len(keys) > 1:
        run.problems.append(
            f"{place}: reads {' and '.join(db_names)} from different databases; "
            "one query reads one database"
        )
        return None
    return keys[0] if keys else ""


def _kinds(names: list[str], one: str, many: str) -> str:
    return f"{', '.join(names)} ({one if len(names) == 1 else many})"


def _run_duckdb(run: _Run, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """One query on DuckDB, with the parameters it names bound."""
    con = _duckdb(run)
    statements = con.extract_statements(sql)
    if len(statements) != 1:
        raise databases.DataProblem(f"holds {len(statements)} statements; give one query")
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        kind = statement.type.name.lower()
        raise databases.DataProblem(
            f"a {kind} statement, not a query: give one select (or with …) that returns rows"
        )
    # DuckDB refuses a value for a parameter the query does not use: only the used ones.
    bound = {name: run.values[name] for name in statement.named_parameters}
    cursor = con.execute(sql, bound)
    columns = [column[0] for column in cursor.description or ()]
    return columns, cursor.fetchmany(MAX_ROWS + 1)


def _run_database(run: _Run, key: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """One query on a database, its entries' tables named, its parameters bound."""
    connection = run.databases[key].connection
    assert connection is not None
    entries = run.databases[key].names
    tables = {
        databases.quoted(connection, name): databases.quoted(connection, table)
        for name in sqltext.names_used(sql, entries)
        if (table := run.outline.data[name].table) not in (None, name)
    }
    bound: dict[str, Any] = {name: run.values[name] for name in sqltext.parameters(sql)}
    if connection.dialect.name == "sqlite":  # SQLite keeps dates as text; its adapter is gone
        bound = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in bound.items()}
    return databases.fetch(connection, databases.with_tables(sql, tables), bound, MAX_ROWS)


def _column_problems(
    section: Section, columns: list[str], rows: list[tuple[Any, ...]]
) -> list[str]:
    """The columns the section's table and chart name that the result does not have."""
    problems: list[str] = []
    place = section.place
    for column in dict.fromkeys(c for c in columns if columns.count(c) > 1):
        problems.append(
            f"{place}.query: returns the column {column!r} twice; name each column once (as …)"
        )
    wanted: list[tuple[str, str]] = []
    if section.table is not None and section.table.columns:
        wanted += [(f"{place}.table.columns", c) for c in section.table.columns]
    if section.chart is not None:
        wanted.append((f"{place}.chart.x", section.chart.x))
        wanted += [(f"{place}.chart.y", c) for c in section.chart.y]
    for where, column in wanted:
        if column not in columns:
            problems.append(
                f"{where}: no column {column!r} in the query's result "
                f"(it returns {', '.join(columns)})"
            )
    if section.chart is not None:
        for column in section.chart.y:
            if column not in columns:
                continue
            index = columns.index(column)
            odd = next((r[index] for r in rows if not _is_number(r[index])), None)
            if odd is not None:
                problems.append(
                    f"{place}.chart.y: the column {column!r} is not numeric (it holds {odd!r})"
                )
    return problems


def _is_number(value: Any) -> bool:
    return value is None or (
        isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)
    )


def _query(run: _Run, section: Section) -> QueryResult | None:
    """The section's query run and checked; None after saying its problems."""
    assert section.query is not None
    sql, place = section.query, f"{section.place}.query"
    problems_before = len(run.problems)
    unknown = [name for name in sqltext.parameters(sql) if name not in run.values]
    for name in unknown:
        declared = ", ".join(run.outline.params) or "no parameters"
        run.problems.append(
            f"{place}: ${name} is not a parameter (the outline declares {declared})"
        )
    count = sqltext.statement_count(sql)
    if count > 1:
        run.problems.append(f"{place}: holds {count} statements; give one query")
    key = _where(run, section, sql)
    if key is None or len(run.problems) > problems_before:
        return None
    if key and _connection(run, key) is None:
        return None  # the database's problem is said once, as its entry's
    engine = "duckdb" if key == "" else run.databases[key].url.get_backend_name()
    try:
        columns, rows = _run_duckdb(run, sql) if key == "" else _run_database(run, key, sql)
    except databases.DataProblem as exc:
        run.problems.append(f"{place}: {exc}")
        return None
    except (duckdb.Error, sa.exc.SQLAlchemyError) as exc:
        url = run.databases[key].url if key else None
        run.problems.append(f"{place}: {databases.reason(exc, url)}")
        return None
    if len(rows) > MAX_ROWS:
        run.problems.append(
            f"{place}: returns more than {MAX_ROWS:,} rows; aggregate in the query "
            "(group by, limit): a report shows a summary"
        )
        return None
    rows = [tuple(plain(value) for value in row) for row in rows]
    run.problems += _column_problems(section, columns, rows)
    if not rows and not section.allow_empty:
        run.problems.append(
            f"{place}: returned no rows; add `allow_empty: true` to show 'No data.'"
        )
    if len(run.problems) > problems_before:
        return None
    return QueryResult(
        section_id=section.id,
        place=place,
        sql=sql,
        engine=engine,
        columns=tuple(columns),
        rows=tuple(rows),
        sha256=result_sha256(columns, rows),
    )


def run_queries(
    outline: Outline,
    outline_path: Path,
    values: Mapping[str, ParamValue],
    env: Mapping[str, str],
) -> DataResults:
    """Run every section's query; OutlineError (exit 2) lists every problem, nothing is called.

    `values` are the resolved parameters (`params.resolve_params`); `env` holds the variables
    `url_env` names. Data files are relative to the outline's folder.
    """
    run = _Run(outline, outline_path.parent, values)
    try:
        hashes = _file_entries(run)
        _database_entries(run, env)
        if run.readers and any(s.query is not None for s in outline.walk()):
            _duckdb(run)  # views first: a file DuckDB cannot read is its entry's problem
        results = {
            section.id: result
            for section in outline.walk()
            if section.query is not None and (result := _query(run, section)) is not None
        }
    finally:
        run.close()
    problems = run.entry_problems + run.problems
    if problems:
        raise OutlineError(str(outline_path), problems)
    return DataResults(params=dict(values), queries=results, files=hashes)
