"""The light reading of a query's SQL: parameters, data names, statements, SQLAlchemy's form."""

from __future__ import annotations

import pytest

from reporting.data import databases
from reporting.data import sql as sqltext


def test_parameters_outside_strings_comments_and_dollar_quotes() -> None:
    sql = (
        "select $a, '$b', \"$c\", $$ $d $$, $tag$ $e $tag$ -- $f\n"
        "/* $g */ from t where x = $a and y = $h::int and z = $1"
    )
    assert sqltext.parameters(sql) == ["a", "h"]
    assert sqltext.parameters("select 'it''s $x' as q") == []
    assert sqltext.parameters("select 'unterminated $x") == []


def test_names_used_are_words_outside_strings_and_comments() -> None:
    names = ["payments", "incidents", "pay"]
    assert sqltext.names_used("select * from Payments p join incidents i on true", names) == [
        "payments",
        "incidents",
    ]
    assert sqltext.names_used("select 'incidents' -- payments\n from x.pay", names) == []
    assert sqltext.names_used('select * from "payments"', names) == ["payments"]
    assert sqltext.names_used("select payments_total from t", names) == []


def test_statements_and_first_word() -> None:
    assert sqltext.statement_count("select 1;") == 1
    assert sqltext.statement_count("select ';'; -- ;\n") == 1
    assert sqltext.statement_count("select 1; delete from t") == 2
    assert sqltext.first_word("-- note\n/* c */ (SELECT 1)") == "select"
    assert sqltext.first_word("  With x as (select 1) select * from x") == "with"
    assert sqltext.first_word("") == ""


def test_for_sqlalchemy_binds_only_our_parameters() -> None:
    sql = "select $n::int, x::text, ':literal', ':a' || $s from t where t = '10:30'"
    assert sqltext.for_sqlalchemy(sql) == (
        "select (:n)::int, x::text, '\\:literal', '\\:a' || (:s) from t where t = '10:30'"
    )


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select * from n", 'with n as (select * from "T")\nselect * from n'),
        (
            "WITH a as (select 1) select * from n, a",
            'WITH n as (select * from "T"), a as (select 1) select * from n, a',
        ),
        (
            "with recursive r(i) as (select 1) select * from n, r",
            'with recursive n as (select * from "T"), r(i) as (select 1) select * from n, r',
        ),
    ],
)
def test_with_tables(sql: str, expected: str) -> None:
    assert databases.with_tables(sql, {"n": '"T"'}) == expected
    assert databases.with_tables(sql, {}) == sql
