"""The outbox (migration 0012_events.sql): events are rows of ``cart_event``, written in the
transaction of the change they describe, so an event exists exactly when its change was committed.

Who writes them: triggers on ``checkout`` and ``cart`` (CheckoutStarted, CheckoutReleased,
GuestCartMerged, CartRecovered: a state change, whichever statement makes it), the completion
statement (CheckoutCompleted, CheckoutCompletionFailed), the sweep (CartAbandoned, SavedItemBackInStock,
SavedItemPriceDropped), and ``append`` below for anything else.

How they leave: ``COLLECT`` ends every pipeline (``db.pipeline``) and reads back the unpublished
events its own transaction wrote, in the same round trip; once the transaction is committed,
cart_common/events.py publishes them and sends ``mark_published`` at the front of the connection's
next pipeline (no round trip of its own). ``unpublished`` is the relay's batch: events still
unpublished after a grace period (the process died between commit and publish).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from cart_common.db import Statement
from cart_common.store._compose import Row

_COLUMNS = """id, detail_type, detail || jsonb_build_object('eventId', id, 'occurredAt', created_at) as detail,
       created_at"""

# The events this transaction wrote (none when it wrote nothing: no transaction id was assigned).
COLLECT: Statement = (
    f"select {_COLUMNS} from cart_event"
    " where published_at is null and tx = pg_current_xact_id_if_assigned() order by created_at, id",
    {},
)

_APPEND = "insert into cart_event (detail_type, detail) values (%(detail_type)s, %(detail)s)"


def append(detail_type: str, detail: dict[str, Any]) -> Statement:
    """An event to add to a change's pipeline (e.g. the recovery link's CartRecovered)."""
    return _APPEND, {"detail_type": detail_type, "detail": Jsonb(detail)}


# Rows a relay is publishing at this moment are skipped, never waited for: the row is published
# either way, and a change's pipeline must not queue behind a relay.
_MARK_PUBLISHED = """
update cart_event set published_at = now()
where id in (select id from cart_event where id = any(%(ids)s::uuid[]) and published_at is null
             for update skip locked)
"""


def mark_published(ids: list[UUID]) -> Statement:
    return _MARK_PUBLISHED, {"ids": ids}


_UNPUBLISHED = f"""
select {_COLUMNS} from cart_event
where published_at is null and created_at < now() - %(grace_s)s::float8 * interval '1 second'
order by created_at, id
limit %(batch)s
"""


def unpublished(conn: psycopg.Connection, *, grace_s: float, batch: int) -> list[Row]:
    """The oldest events still unpublished ``grace_s`` after their commit, at most ``batch``."""
    from cart_common.db import pipeline

    return pipeline(conn, [(_UNPUBLISHED, {"grace_s": grace_s, "batch": batch})])[0]


_PURGE = """
with due as materialized (
    select id from cart_event
    where published_at < now() - %(days)s::float8 * interval '1 day'
    order by published_at limit %(batch)s for update skip locked
),
gone as (delete from cart_event e where e.id = any(array(select id from due)) returning 1)
select count(*) as purged from gone
"""


def purge_published(conn: psycopg.Connection, *, days: float, batch: int) -> Row:
    """The sweep's housekeeping: published events older than ``days`` deleted, a batch at a time."""
    from cart_common.db import pipeline

    return pipeline(conn, [(_PURGE, {"days": days, "batch": batch})])[0][0]
