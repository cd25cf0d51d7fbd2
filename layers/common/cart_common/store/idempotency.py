"""Idempotency keys: a change claims its key, makes the change and stores its response in one
transaction, so a retry replays the first response."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from cart_common.db import Statement, pipeline
from cart_common.store._compose import Row, plain

# Claims the key for this request, or stops the transaction when it was already used (and has
# not expired): the caller then answers the stored response.
_CLAIM = """
with claimed as (
    insert into idempotency_key (owner, key, request_hash) values (%(owner)s, %(key)s, %(hash)s)
    on conflict (owner, key) do update
    set request_hash = excluded.request_hash, response = null, created_at = now(),
        expires_at = now() + interval '24 hours'
    where idempotency_key.expires_at <= now()
    returning 1
)
select case when exists (select 1 from claimed) then 0 else raise_problem('idempotency_replay') end as outcome
"""

_SAVE_RESPONSE = "update idempotency_key set response = %(response)s where owner = %(owner)s and key = %(key)s"

_RESPONSE = """
select request_hash, response from idempotency_key
where owner = %(owner)s and key = %(key)s and expires_at > now()
"""


def claim_idempotency_key(scope: str, key: str, request_hash: str) -> Statement:
    return plain(_CLAIM, owner=scope, key=key, hash=request_hash)


def save_idempotent_response(scope: str, key: str, response: dict[str, Any]) -> Statement:
    return plain(_SAVE_RESPONSE, owner=scope, key=key, response=Jsonb(response))


def idempotent_response(conn: psycopg.Connection, *, scope: str, key: str) -> Row | None:
    rows = pipeline(conn, [plain(_RESPONSE, owner=scope, key=key)], reads_only=True)[0]
    return rows[0] if rows else None
