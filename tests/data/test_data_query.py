"""The data stage: queries over CSV, Parquet and JSON files and SQLite, and every bad-data error."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pg_server import free_port

from reporting.data import files, query
from reporting.data.query import plain, result_sha256, run_queries
from reporting.data.results import DataResults
from reporting.errors import OutlineError
from reporting.outline.loader import parse_outline
from reporting.outline.model import Outline, ParamValue

PAYMENTS = """\
month,region,quarter,authorizations,p99_ms
2026-07,EU,2026Q3,1204000,182
2026-08,EU,2026Q3,1310500,191.5
2026-09,EU,2026Q3,1355250,240
2026-07,US,2026Q3,900000,150
2026-04,EU,2026Q2,1100000,175
"""
VOLUME = """\
select month, authorizations, p99_ms from payments
where region = $region and quarter = $quarter order by month
"""
PARAMS = {"region": "EU", "quarter": "2026Q3"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The outline's folder with data/payments.csv."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "payments.csv").write_text(PAYMENTS)
    return tmp_path


def outline(data: dict[str, Any], *sections: dict[str, Any]) -> Outline:
    """An outline declaring `region` and `quarter`, the data entries and the sections."""
    return parse_outline(
        {
            "title": "Payments",
            "params": {"region": {"default": "EU"}, "quarter": {"default": "2026Q3"}},
            "data": data,
            "sections": [{"title": f"S{i}", **s} for i, s in enumerate(sections, 1)],
        },
        "kpis.yaml",
    )


def run(
    folder: Path,
    model: Outline,
    values: dict[str, ParamValue] | None = None,
    env: dict[str, str] | None = None,
) -> DataResults:
    return run_queries(model, folder / "kpis.yaml", PARAMS if values is None else values, env or {})


def problems(folder: Path, model: Outline, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(OutlineError) as caught:
        run(folder, model, env=env)
    assert caught.value.exit_code == 2
    assert caught.value.path == str(folder / "kpis.yaml")
    return caught.value.problems


def sqlite_db(path: Path) -> Path:
    """A SQLite database with an `incidents` table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            create table incidents (day text, region text, minutes real, sev int);
            insert into incidents values
              ('2026-07-03', 'EU', 42.5, 2), ('2026-08-11', 'EU', 12, 1),
              ('2026-08-20', 'US', 90, 3), ('2026-09-01', 'EU', 7.25, 2);
            """
        )
    db.close()
    return path


# Files through DuckDB


def test_a_csv_query_with_bound_parameters(folder: Path) -> None:
    model = outline({"payments": "data/payments.csv"}, {"query": VOLUME})
    results = run(folder, model)
    result = results.queries["1"]
    assert result.section_id == "1"
    assert result.place == 'sections[1] "S1".query'
    assert result.engine == "duckdb"
    assert result.sql == VOLUME.strip()
    assert result.columns == ("month", "authorizations", "p99_ms")
    assert result.rows == (
        ("2026-07", 1204000, 182.0),
        ("2026-08", 1310500, 191.5),
        ("2026-09", 1355250, 240.0),
    )
    assert result.row_count == 3
    assert result.sha256 == result_sha256(result.columns, result.rows)
    assert results.params == PARAMS
    digest = hashlib.sha256((folder / "data" / "payments.csv").read_bytes()).hexdigest()
    assert results.files == {"payments": digest}
    # Other parameter values select other rows.
    other = run(folder, model, {"region": "US", "quarter": "2026Q3"}).queries["1"]
    assert other.rows == (("2026-07", 900000, 150.0),)
    assert other.sha256 != result.sha256


def test_the_result_hash_follows_the_data(folder: Path) -> None:
    model = outline({"payments": "data/payments.csv"}, {"query": VOLUME})
    before = run(folder, model)
    assert run(folder, model).queries["1"].sha256 == before.queries["1"].sha256
    # A row of another region changes the file, not this query's result.
    with (folder / "data" / "payments.csv").open("a") as csv:
        csv.write("2026-09,US,2026Q3,1,1\n")
    after = run(folder, model)
    assert after.files["payments"] != before.files["payments"]
    assert after.queries["1"].sha256 == before.queries["1"].sha256
    with (folder / "data" / "payments.csv").open("a") as csv:
        csv.write("2026-09,EU,2026Q3,5,5\n")
    assert run(folder, model).queries["1"].sha256 != before.queries["1"].sha256


def test_parquet_and_json_files(folder: Path) -> None:
    con = duckdb.connect()
    source = str(folder / "data" / "payments.csv").replace("'", "''")
    target = str(folder / "data" / "payments.parquet").replace("'", "''")
    con.execute(f"copy (select * from read_csv_auto('{source}')) to '{target}' (format parquet)")
    con.close()
    rows = [{"region": "EU", "tickets": 12}, {"region": "US", "tickets": 30}]
    (folder / "data" / "tickets.json").write_text(json.dumps(rows))
    (folder / "data" / "tickets.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    model = outline(
        {
            "payments": "data/payments.parquet",
            "tickets": "data/tickets.json",
            "lines": "data/tickets.jsonl",
        },
        {"query": VOLUME},
        {"query": "select region, tickets from tickets where region = $region"},
        {"query": "select sum(tickets) as total from lines"},
    )
    results = run(folder, model)
    assert results.queries["1"].rows[0] == ("2026-07", 1204000, 182.0)
    assert results.queries["2"].rows == (("EU", 12),)
    assert results.queries["3"].rows == ((42,),)
    assert set(results.files) == {"payments", "tickets", "lines"}


def test_a_parameter_is_bound_never_pasted(folder: Path) -> None:
    model = outline({"payments": "data/payments.csv"}, {"query": VOLUME, "allow_empty": True})
    injected = {"region": "EU' or 1=1 --", "quarter": "2026Q3"}
    assert run(folder, model, injected).queries["1"].rows == ()
    # The same value on SQLite.
    sqlite_db(folder / "app.db")
    model = outline(
        {"incidents": {"url": "sqlite:///app.db"}},
        {"query": "select day from incidents where region = $region", "allow_empty": True},
    )
    assert run(folder, model, injected).queries["1"].rows == ()
    assert len(run(folder, model).queries["1"].rows) == 3


def test_only_the_parameters_a_query_uses_are_bound(folder: Path) -> None:
    # DuckDB refuses a value for a parameter the query does not name; `$quarter` inside a
    # string or a comment is no parameter.
    model = outline(
        {"payments": "data/payments.csv"},
        {"query": "select '$quarter' as q, count(*) as n from payments -- $quarter\n"},
        {"query": "select count(*) as n from payments where region = $region"},
        {"query": "select 1 as one"},
    )
    results = run(folder, model)
    assert results.queries["1"].rows == (("$quarter", 5),)
    assert results.queries["2"].rows == ((4,),)
    assert results.queries["3"].rows == ((1,),)


def test_values_are_plain_python() -> None:
    model = outline(
        {},
        {
            "query": "select 1.50::decimal(5,2) as d, date '2026-07-01' as day, "
            "timestamp '2026-07-01 10:30:00' as at, null as nothing, true as yes, "
            "[1, 2] as list, '\\x01'::blob as bytes, interval 2 hour as span, "
            "'7a5e4d0c-7b5a-4a4f-9d7e-2f6b5e2c1a00'::uuid as id"
        },
    )
    row = run_queries(model, Path("kpis.yaml"), {}, {}).queries["1"].rows[0]
    assert row[:5] == (
        Decimal("1.50"),
        dt.date(2026, 7, 1),
        dt.datetime(2026, 7, 1, 10, 30),
        None,
        True,
    )
    assert row[5:] == ("[1, 2]", "01", "2:00:00", "7a5e4d0c-7b5a-4a4f-9d7e-2f6b5e2c1a00")
    assert plain(Decimal("2")) == Decimal("2")


def test_the_hash_tells_types_apart() -> None:
    assert result_sha256(["a"], [[Decimal("1.5")]]) != result_sha256(["a"], [["1.5"]])
    assert result_sha256(["a"], [[1]]) != result_sha256(["a"], [[1.0]])
    assert result_sha256(["a"], [[dt.date(2026, 1, 1)]]) == result_sha256(
        ["a"], [[dt.date(2026, 1, 1)]]
    )


def test_duckdb_downloads_no_extension() -> None:
    con = files.connect()
    settings = con.execute(
        "select current_setting('autoinstall_known_extensions'), "
        "current_setting('autoload_known_extensions')"
    ).fetchone()
    con.close()
    assert settings == (False, False)
    # A remote file would need httpfs: refused, not fetched.
    model = outline({}, {"query": "select * from read_csv_auto('https://example.com/x.csv')"})
    found = problems(Path.cwd(), model)
    assert len(found) == 1
    assert found[0].startswith('sections[1] "S1".query: ')
    assert "httpfs" in found[0]


def test_subsections_and_their_places(folder: Path) -> None:
    model = parse_outline(
        {
            "title": "T",
            "data": {"payments": "data/payments.csv"},
            "sections": [
                {"title": "A", "sections": [{"title": "B", "query": "select 1 as n"}]},
                {"title": "C", "query": "select count(*) as n from payments"},
            ],
        },
        "kpis.yaml",
    )
    results = run(folder, model, {})
    assert {k: v.place for k, v in results.queries.items()} == {
        "1.1": 'sections[1] "A".sections[1] "B".query',
        "2": 'sections[2] "C".query',
    }


# SQLite through SQLAlchemy


def test_a_sqlite_database_relative_to_the_outline(folder: Path) -> None:
    sqlite_db(folder / "db" / "app.db")
    model = outline(
        {"incidents": {"url": "sqlite:///db/app.db"}},
        {
            "query": "select day, minutes, sev from incidents "
            "where region = $region and day >= $since order by day",
        },
    )
    values: dict[str, ParamValue] = {"region": "EU", "since": dt.date(2026, 8, 1)}
    model.params["since"] = model.params["region"]  # declared; its type is not read here
    result = run(folder, model, values).queries["1"]
    assert result.engine == "sqlite"
    assert result.rows == (("2026-08-11", 12.0, 1), ("2026-09-01", 7.25, 2))
    assert result.sha256 == result_sha256(result.columns, result.rows)


def test_a_database_url_from_the_environment_and_another_table_name(folder: Path) -> None:
    sqlite_db(folder / "app.db")
    url = f"sqlite:///{folder / 'app.db'}"
    model = outline(
        {"outages": {"url_env": "REPORTING_DB_URL", "table": "incidents"}},
        {"query": "select count(*) as n from outages where region = $region"},
        {
            "query": "with eu as (select * from outages where region = 'EU') "
            "select sum(minutes) as minutes from eu"
        },
        {
            "query": "with recursive n(i) as (select 1 union all select i + 1 from n where i < 3)"
            " select count(*) as n from n, outages"
        },
    )
    results = run(folder, model, env={"REPORTING_DB_URL": url})
    assert [r.rows for r in results.queries.values()] == [((3,),), ((61.75,),), ((12,),)]


def test_a_query_cannot_write(folder: Path) -> None:
    path = sqlite_db(folder / "app.db")
    model = outline(
        {"incidents": {"url": "sqlite:///app.db"}},
        {"query": "delete from incidents"},
        {"query": "insert into incidents values ('x', 'x', 1, 1)"},
        {"query": "with d as (select 1) delete from incidents"},
    )
    found = problems(folder, model)
    assert found[:2] == [
        'sections[1] "S1".query: not a query: give one select (or with …) that returns rows',
        'sections[2] "S2".query: not a query: give one select (or with …) that returns rows',
    ]
    assert found[2].startswith('sections[3] "S3".query: ')
    with sqlite3.connect(path) as db:
        assert db.execute("select count(*) from incidents").fetchone() == (4,)
    db.close()
    # Nor on DuckDB: COPY, CREATE and ATTACH are no queries.
    target = folder / "out.csv"
    model = outline(
        {"payments": "data/payments.csv"},
        {"query": f"copy (select * from payments) to '{target}'"},
        {"query": "create table t as select 1"},
    )
    assert problems(folder, model) == [
        'sections[1] "S1".query: a copy statement, not a query: give one select (or with …) '
        "that returns rows",
        'sections[2] "S2".query: a create statement, not a query: give one select (or with …) '
        "that returns rows",
    ]
    assert not target.exists()


# Bad data is bad input: every problem, with its place, at once


def test_a_missing_file_and_an_unknown_kind(folder: Path) -> None:
    (folder / "data" / "sheet.xlsx").write_bytes(b"PK")
    model = outline(
        {
            "payments": "data/payments.csv",
            "refunds": "data/refunds.csv",
            "sheet": "data/sheet.xlsx",
        },
        {"query": "select count(*) as n from refunds"},
        {"query": "select count(*) as n from payments"},
        {"query": "select * from sheet"},
    )
    # The queries over a broken entry are not run: its problem is said once.
    assert problems(folder, model) == [
        "data.refunds: file not found: data/refunds.csv",
        "data.sheet: cannot read data/sheet.xlsx: give a .csv, .tsv, .parquet, .json or "
        ".jsonl file (.gz for CSV and JSON)",
    ]


def test_a_file_duckdb_cannot_read(folder: Path) -> None:
    (folder / "data" / "broken.json").write_text("{not json")
    model = outline(
        {"broken": "data/broken.json"}, {"query": "select * from broken"}, {"query": "select 1"}
    )
    found = problems(folder, model)
    assert len(found) == 1
    assert found[0].startswith("data.broken: cannot read data/broken.json: ")


def test_sql_errors_name_the_query_and_the_database_error(folder: Path) -> None:
    sqlite_db(folder / "app.db")
    model = outline(
        {"payments": "data/payments.csv", "incidents": {"url": "sqlite:///app.db"}},
        {"query": "selec 1"},
        {"query": "select nope from payments"},
        {"query": "select nope from incidents"},
    )
    found = problems(folder, model)
    assert found[0] == 'sections[1] "S1".query: Parser Error: syntax error at or near "selec"'
    assert found[1].startswith('sections[2] "S2".query: Binder Error: Referenced column "nope"')
    assert found[2] == 'sections[3] "S3".query: no such column: nope'
    assert all("\n" not in problem for problem in found)


def test_columns_the_table_and_chart_name_must_be_returned(folder: Path) -> None:
    model = outline(
        {"payments": "data/payments.csv"},
        {
            "query": VOLUME,
            "table": {"columns": ["month", "volume"]},
            "chart": {"x": "monthh", "y": ["p99", "authorizations"]},
        },
        {"query": "select month, region from payments", "chart": {"x": "month", "y": "region"}},
        {"query": "select month, month from payments"},
    )
    assert problems(folder, model) == [
        "sections[1] \"S1\".table.columns: no column 'volume' in the query's result "
        "(it returns month, authorizations, p99_ms)",
        "sections[1] \"S1\".chart.x: no column 'monthh' in the query's result "
        "(it returns month, authorizations, p99_ms)",
        "sections[1] \"S1\".chart.y: no column 'p99' in the query's result "
        "(it returns month, authorizations, p99_ms)",
        "sections[2] \"S2\".chart.y: the column 'region' is not numeric (it holds 'EU')",
        "sections[3] \"S3\".query: returns the column 'month' twice; name each column once (as …)",
    ]


def test_no_rows(folder: Path) -> None:
    empty = "select month, p99_ms from payments where region = 'nowhere'"
    model = outline(
        {"payments": "data/payments.csv"},
        {"query": empty},
        {"query": empty, "allow_empty": True, "chart": {"x": "month", "y": "p99"}},
    )
    assert problems(folder, model) == [
        "sections[1] \"S1\".query: returned no rows; add `allow_empty: true` to show 'No data.'",
        "sections[2] \"S2\".chart.y: no column 'p99' in the query's result "
        "(it returns month, p99_ms)",
    ]
    model = outline({"payments": "data/payments.csv"}, {"query": empty, "allow_empty": True})
    result = run(folder, model).queries["1"]
    assert (result.columns, result.rows) == (("month", "p99_ms"), ())


def test_too_many_rows(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(query, "MAX_ROWS", 4)
    model = outline(
        {"payments": "data/payments.csv"},
        {"query": "select * from payments"},
        {"query": "select * from payments limit 4"},
    )
    assert problems(folder, model) == [
        'sections[1] "S1".query: returns more than 4 rows; aggregate in the query '
        "(group by, limit): a report shows a summary"
    ]


def test_parameters_statements_and_kinds(folder: Path) -> None:
    sqlite_db(folder / "app.db")
    sqlite_db(folder / "other.db")
    model = outline(
        {
            "payments": "data/payments.csv",
            "incidents": {"url": "sqlite:///app.db"},
            "tickets": {"url": "sqlite:///other.db", "table": "incidents"},
        },
        {"query": "select * from payments where region = $regoin"},
        {"query": "select 1 as a; select 2 as b"},
        {"query": "select * from payments join incidents on true"},
        {"query": "select * from incidents, tickets"},
    )
    assert problems(folder, model) == [
        'sections[1] "S1".query: $regoin is not a parameter (the outline declares region, quarter)',
        'sections[2] "S2".query: holds 2 statements; give one query',
        'sections[3] "S3".query: reads payments (a file) and incidents (a database); '
        "one query reads one kind",
        'sections[4] "S4".query: reads incidents and tickets from different databases; '
        "one query reads one database",
    ]


def test_database_entries_that_cannot_be_used(folder: Path) -> None:
    model = outline(
        {
            "a": {"url_env": "NOT_SET"},
            "b": {"url": "not a url"},
            "c": {"url": "mysql+nosuchdriver://u:topsecret@db.example/x"},
            "d": {"url": "sqlite:///missing.db"},
        },
        {"query": "select * from a"},
        {"query": "select * from c"},
    )
    found = problems(folder, model)
    assert found == [
        "data.a.url_env: the variable NOT_SET is not set (it holds the database URL)",
        "data.b.url: not a database URL (dialect+driver://…)",
        "data.d: database file not found: missing.db",
        "data.c: no driver for mysql+nosuchdriver (Can't load plugin: "
        "sqlalchemy.dialects:mysql.nosuchdriver)",
    ]
    assert not (folder / "missing.db").exists()  # SQLite would have made an empty one


def test_an_unreachable_database_never_shows_its_password(folder: Path) -> None:
    port = free_port()  # nobody listens there
    url = f"postgresql+psycopg://app:Pa55-w0rd@127.0.0.1:{port}/x"
    model = outline(
        {"incidents": {"url_env": "REPORTING_DB_URL"}, "tickets": {"url": url}},
        {"query": "select count(*) from incidents"},
        {"query": "select count(*) from tickets"},
    )
    found = problems(folder, model, env={"REPORTING_DB_URL": url})
    # One database, said once, as its first entry's problem.
    assert len(found) == 1
    assert found[0].startswith(
        f"data.incidents: cannot connect to postgresql+psycopg://app:***@127.0.0.1:{port}/x: "
    )
    assert "Pa55-w0rd" not in found[0]
    assert "refused" in found[0].lower()


def test_every_problem_at_once_entries_first(folder: Path) -> None:
    model = outline(
        {"payments": "data/payments.csv", "gone": "data/gone.csv"},
        {"query": "select nope from payments"},
        {"query": "select * from payments where 1 = 0"},
        {"query": VOLUME, "table": {"columns": ["x"]}},
    )
    found = problems(folder, model)
    assert [problem.split(":")[0] for problem in found] == [
        "data.gone",
        'sections[1] "S1".query',
        'sections[2] "S2".query',
        'sections[3] "S3".table.columns',
    ]


def test_a_file_several_queries_read_is_loaded_once(folder: Path) -> None:
    con = files.connect()
    csv = folder / "data" / "payments.csv"
    files.register(con, "once", csv, "read_csv_auto", readers=1)
    files.register(con, "twice", csv, "read_csv_auto", readers=2)
    kinds = con.execute(
        "select table_name, table_type from information_schema.tables order by table_name"
    ).fetchall()
    con.close()
    assert kinds == [("once", "VIEW"), ("twice", "BASE TABLE")]


def test_a_bad_row_is_the_files_problem_when_the_file_is_loaded(folder: Path) -> None:
    lines = ["month,n", *[f"2026-{m:02},{m}" for m in range(1, 13)] * 3000, "2026-13,1,extra"]
    (folder / "data" / "bad.csv").write_text("\n".join(lines) + "\n")
    one = outline({"bad": "data/bad.csv"}, {"query": "select sum(n) as n from bad"})
    found = problems(folder, one)
    assert len(found) == 1
    assert found[0].startswith('sections[1] "S1".query: ')
    two = outline(
        {"bad": "data/bad.csv"},
        {"query": "select sum(n) as n from bad"},
        {"query": "select count(*) as rows from bad"},
    )
    found = problems(folder, two)
    assert len(found) == 1
    assert found[0].startswith("data.bad: cannot read data/bad.csv: ")
