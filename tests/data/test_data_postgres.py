"""Queries on a real PostgreSQL server (tests/pg_server.py starts one; CI installs PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pg_server
import psycopg
import pytest
from conftest import missing_service
from pg_server import PASSWORD, PostgresServer, Unavailable, postgres_server

from reporting.data.query import run_queries
from reporting.data.results import DataResults
from reporting.errors import OutlineError
from reporting.outline.loader import parse_outline
from reporting.outline.model import Outline, ParamValue


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One server for the session, with an `incidents` table (conftest.missing_service)."""
    try:
        with postgres_server() as server:
            dsn = server.url().replace("postgresql+psycopg", "postgresql")
            with psycopg.connect(dsn) as db:
                db.execute("create table incidents (day date, region text, minutes numeric(8, 2))")
                db.execute(
                    "insert into incidents values ('2026-07-03', 'EU', 42.50), "
                    "('2026-08-11', 'EU', 12), ('2026-08-20', 'US', 90), "
                    "('2026-09-01', 'EU', 7.25)"
                )
                db.execute("create sequence ids")
            yield server
    except Unavailable as exc:
        missing_service(f"no PostgreSQL server: {exc}")


def outline(data: dict[str, Any], *queries: str) -> Outline:
    return parse_outline(
        {
            "title": "Incidents",
            "params": {"region": {"default": "EU"}, "since": {"type": "date"}},
            "data": data,
            "sections": [{"title": f"S{i}", "query": q} for i, q in enumerate(queries, 1)],
        },
        "kpis.yaml",
    )


def run(model: Outline, env: dict[str, str], region: str = "EU") -> DataResults:
    values: dict[str, ParamValue] = {"region": region, "since": dt.date(2026, 8, 1)}
    return run_queries(model, Path("kpis.yaml"), values, env)


def test_a_query_with_bound_parameters(postgres: PostgresServer) -> None:
    model = outline(
        {"incidents": {"url_env": "REPORTING_DB_URL"}},
        "select day, minutes from incidents where region = $region and day >= $since order by day",
        # A cast after a parameter, and a literal `%` and `:word` that are no parameters.
        "select count(*) as n, $since::text as since, 'E%' as pattern, ':x' as colon "
        "from incidents where region like 'E%'",
    )
    results = run(model, {"REPORTING_DB_URL": postgres.url()})
    first, second = results.queries["1"], results.queries["2"]
    assert first.engine == "postgresql"
    assert first.columns == ("day", "minutes")
    assert first.rows == (
        (dt.date(2026, 8, 11), Decimal("12.00")),
        (dt.date(2026, 9, 1), Decimal("7.25")),
    )
    assert second.rows == ((3, "2026-08-01", "E%", ":x"),)
    # Bound, not pasted.
    injected = outline(
        {"incidents": {"url": postgres.url()}},
        "select count(*) as n from incidents where region = $region",
    )
    assert run(injected, {}, region="EU' or 1=1 --").queries["1"].rows == ((0,),)


def test_an_entry_naming_another_table(postgres: PostgresServer) -> None:
    model = outline(
        {"outages": {"url": postgres.url(), "table": "public.incidents"}},
        "select region, sum(minutes) as minutes from outages group by region order by region",
    )
    rows = run(model, {}).queries["1"].rows
    assert rows == (("EU", Decimal("61.75")), ("US", Decimal("90.00")))


def test_a_query_cannot_write(postgres: PostgresServer) -> None:
    model = outline(
        {"incidents": {"url": postgres.url()}},
        "with gone as (delete from incidents returning *) select count(*) from gone",
        "select nextval('ids') from incidents limit 1",
        "select count(*) from incidents",
    )
    with pytest.raises(OutlineError) as caught:
        run(model, {})
    assert caught.value.problems == [
        'sections[1] "S1".query: DECLARE CURSOR must not contain data-modifying statements in WITH',
        'sections[2] "S2".query: cannot execute nextval() in a read-only transaction',
    ]
    # The failed query left the connection usable, and the rows where they were.
    model = outline({"incidents": {"url": postgres.url()}}, "select count(*) from incidents")
    assert run(model, {}).queries["1"].rows == ((4,),)


def test_a_sql_error_names_the_query(postgres: PostgresServer) -> None:
    model = outline(
        {"incidents": {"url": postgres.url()}},
        "select nope from incidents",
        "select count(*) from incidents",
    )
    with pytest.raises(OutlineError) as caught:
        run(model, {})
    assert caught.value.problems == ['sections[1] "S1".query: column "nope" does not exist']


def test_a_wrong_password_is_never_shown(postgres: PostgresServer) -> None:
    wrong = "wr0ng-Secret"
    model = outline({"incidents": {"url_env": "DB"}}, "select count(*) from incidents")
    with pytest.raises(OutlineError) as caught:
        run(model, {"DB": postgres.url(password=wrong)})
    (problem,) = caught.value.problems
    assert problem.startswith(
        f"data.incidents: cannot connect to postgresql+psycopg://report:***@127.0.0.1:"
        f"{postgres.port}/postgres: "
    )
    assert "password authentication failed" in problem
    assert wrong not in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_no_server_where_there_are_no_binaries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_server, "find_bindir", lambda: None)
    with pytest.raises(Unavailable, match="apt-get install postgresql"), postgres_server():
        pass
