"""How a statement is put together: its text (inline, or a ``.sql`` file in ``sql/``), the owner's
key column, and the fragments several statements share, each filled into a named placeholder by
``psycopg.sql`` (identifiers and SQL only; values are always parameters).

In a statement's text, ``{owner_col}`` is the owner's key column (``user_id`` or ``session_id``)
and any other ``{name}`` is the fragment in ``sql/_name.sql``; a fragment may use placeholders too.
A statement is composed once per owner kind, on first use (nothing is read at import: cold starts).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from psycopg import sql

from cart_common.db import Statement
from cart_common.session import Owner

Row = dict[str, Any]

SQL_DIR = Path(__file__).parent / "sql"
OWNER_COLUMN = {"guest": "session_id", "user": "user_id"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@functools.cache
def _text(source: str) -> str:
    """``source`` itself, or the text of ``sql/<source>`` when it names a file."""
    return (SQL_DIR / source).read_text() if source.endswith(".sql") else source


@functools.cache
def composed(source: str, kind: str | None = None) -> sql.Composed:
    """The statement ``source`` with its placeholders filled for an owner of ``kind``."""
    text = _text(source)
    parts: dict[str, sql.Composable] = {}
    for name in set(_PLACEHOLDER.findall(text)):
        if name == "owner_col":
            if kind is None:
                raise ValueError(f"{source} needs an owner")
            parts[name] = sql.Identifier(OWNER_COLUMN[kind])
        else:
            parts[name] = composed(f"_{name}.sql", kind)
    return sql.SQL(text).format(**parts)


def owned(source: str, owner: Owner, **params: Any) -> Statement:
    """``source`` for ``owner``'s cart, with ``%(owner)s`` and ``params``."""
    return composed(source, owner.kind), {"owner": owner.key, **params}


def plain(source: str, **params: Any) -> Statement:
    """``source`` with ``params`` (a statement about no one owner)."""
    return composed(source), params
