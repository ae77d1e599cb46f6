"""Schema hints for missing-column and missing-table errors, in each dialect's wording."""

from __future__ import annotations

import pytest

from langgraph_slinvit.envs.sql_hints import schema_hint

SCHEMA = {
    "CARS_DATA": ["Id", "MPG", "Weight", "Horsepower"],
    "CAR_NAMES": ["MakeId", "Model", "Make"],
    "model_list": ["ModelId", "Maker", "Model"],
}


@pytest.mark.parametrize(
    "message",
    [
        "no such column: Weight",  # SQLite
        "no such column: T1.Weight",
        "(1054, \"Unknown column 'T2.Weight' in 'field list'\")",  # MariaDB / MySQL
        'column "weight" does not exist',  # PostgreSQL
        "column t1.weight does not exist",
    ],
)
def test_missing_column_names_the_table_holding_it(message: str) -> None:
    hint = schema_hint(message, SCHEMA)
    assert hint is not None
    assert "is in table CARS_DATA" in hint
    assert "CAR_NAMES" not in hint


def test_a_column_in_several_tables_names_them_all() -> None:
    assert schema_hint("no such column: T2.Model", SCHEMA) == (
        "Hint: a column named Model is in tables CAR_NAMES, model_list."
    )


def test_a_misspelt_column_gets_the_closest_names() -> None:
    hint = schema_hint("no such column: Wieght", SCHEMA)
    assert hint == "Hint: no table has a column named Wieght; similar columns: CARS_DATA.Weight."


def test_an_unknown_column_says_no_table_has_it() -> None:
    assert schema_hint("no such column: xyz", SCHEMA) == "Hint: no table has a column named xyz."


@pytest.mark.parametrize(
    "message",
    [
        "no such table: CAR_DATA",
        "(1146, \"Table 'car_1.CAR_DATA' doesn't exist\")",
        'relation "car_data" does not exist',
    ],
)
def test_missing_table_lists_the_closest_and_all_tables(message: str) -> None:
    hint = schema_hint(message, SCHEMA)
    assert hint is not None
    assert hint.startswith("Hint: no table ")
    assert "closest: CARS_DATA" in hint
    assert "Tables: CARS_DATA, CAR_NAMES, model_list." in hint


@pytest.mark.parametrize(
    "message", ['near "SELEC": syntax error', "misuse of aggregate: COUNT()", "database is locked"]
)
def test_other_errors_get_no_hint(message: str) -> None:
    assert schema_hint(message, SCHEMA) is None


def test_no_catalogue_no_hint() -> None:
    assert schema_hint("no such column: Weight", {}) is None
