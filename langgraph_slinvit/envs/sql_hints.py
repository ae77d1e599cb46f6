"""Schema hints for SQL errors: where a missing column or table actually is.

A small model that writes ``SELECT Weight FROM CAR_NAMES`` gets ``no such column: Weight`` and
rarely finds, from that alone, that ``Weight`` lives in ``CARS_DATA``. The hint says so, from the
database's own catalogue, for the three dialects' wording of the two errors:

* SQLite: ``no such column: T1.Weight``, ``no such table: CAR_DATA``
* MySQL/MariaDB: ``Unknown column 'T1.Weight' in 'field list'``, ``Table 'db.CAR_DATA' doesn't
  exist``
* PostgreSQL: ``column t1.weight does not exist`` (or ``column "weight" ...``), ``relation
  "car_data" does not exist``

Nothing is guessed beyond the catalogue: a hint names tables that hold a column of that name, or
the closest names the schema has, and is omitted when the message is of another kind.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

_MISSING_COLUMN = (
    re.compile(r"no such column:\s*(?P<name>[\w.\"`\[\]]+)", re.IGNORECASE),
    re.compile(r"Unknown column '(?P<name>[^']+)'", re.IGNORECASE),
    re.compile(r"column (?P<name>[\w.\"]+) does not exist", re.IGNORECASE),
)
_MISSING_TABLE = (
    re.compile(r"no such table:\s*(?P<name>[\w.\"`\[\]]+)", re.IGNORECASE),
    re.compile(r"Table '(?P<name>[^']+)' doesn't exist", re.IGNORECASE),
    re.compile(r"relation (?P<name>[\w.\"]+) does not exist", re.IGNORECASE),
)
_MAX_NAMED = 6


def _bare(name: str) -> str:
    """The last part of a possibly qualified, possibly quoted name."""
    return re.sub(r"[\"`\[\]]", "", name).split(".")[-1]


def schema_hint(message: str, columns: Mapping[str, Sequence[str]]) -> str | None:
    """A one-line hint for a missing-column or missing-table error, or None.

    Args:
        message: the database's error message.
        columns: every table's column names, ``{table: [column, ...]}``.
    """
    if not columns:
        return None
    for pattern in _MISSING_COLUMN:
        match = pattern.search(message)
        if match:
            return _column_hint(_bare(match.group("name")), columns)
    for pattern in _MISSING_TABLE:
        match = pattern.search(message)
        if match:
            return _table_hint(_bare(match.group("name")), columns)
    return None


def _column_hint(name: str, columns: Mapping[str, Sequence[str]]) -> str:
    holders = [t for t, cols in columns.items() if any(c.lower() == name.lower() for c in cols)]
    if holders:
        tables = ", ".join(holders[:_MAX_NAMED]) + (" ..." if len(holders) > _MAX_NAMED else "")
        return f"Hint: a column named {name} is in table{'s' if len(holders) > 1 else ''} {tables}."
    qualified = {f"{t}.{c}": c for t, cols in columns.items() for c in cols}
    close = difflib.get_close_matches(
        name.lower(), [c.lower() for c in qualified.values()], n=_MAX_NAMED, cutoff=0.6
    )
    similar = [q for q, c in qualified.items() if c.lower() in close][:_MAX_NAMED]
    if similar:
        return f"Hint: no table has a column named {name}; similar columns: {', '.join(similar)}."
    return f"Hint: no table has a column named {name}."


def _table_hint(name: str, columns: Mapping[str, Sequence[str]]) -> str:
    tables = list(columns)
    by_lower = {t.lower(): t for t in tables}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.5)
    listed = ", ".join(tables[:20]) + (" ..." if len(tables) > 20 else "")
    if close:
        return (
            f"Hint: no table {name}; closest: {', '.join(by_lower[c] for c in close)}. "
            f"Tables: {listed}."
        )
    return f"Hint: no table {name}. Tables: {listed}."
