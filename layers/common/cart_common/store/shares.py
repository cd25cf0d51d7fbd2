"""Share links (issue 23, docs/lists.md): the rows behind the signed tokens of cart_common/shares.py.
A link's id and expiry are chosen by the caller (they are what its token signs), so the row is one
insert in the round trip that answers the owner's live links."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import psycopg

from cart_common.db import pipeline
from cart_common.session import Owner
from cart_common.store._compose import Row, owned, plain


def create_share(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    share_id: UUID,
    list_id: UUID | None,
    expires_at: datetime,
    max_links: int,
) -> list[Row]:
    """A link to the owner's cart (``list_id`` None: its lines as they are now) or list; the owner's live links."""
    create = owned(
        "create_share.sql", owner, share_id=share_id, list_id=list_id, expires_at=expires_at, max_links=max_links
    )
    return pipeline(conn, [create, owned("shares_view.sql", owner)])[-1]


def shares(conn: psycopg.Connection, owner: Owner) -> list[Row]:
    return pipeline(conn, [owned("shares_view.sql", owner)], reads_only=True)[0]


_REVOKE = """
with revoked as (
    delete from share_link where id = %(share_id)s::uuid and {owner_col} = %(owner)s and expires_at > now()
    returning id
)
select case when exists (select 1 from revoked) then 0
            else raise_problem('share_not_found', jsonb_build_object('shareId', %(share_id)s::text)) end as outcome
"""


def revoke_share(conn: psycopg.Connection, owner: Owner, *, share_id: UUID) -> list[Row]:
    """The link gone (its token then answers share_link_revoked); the owner's live links."""
    return pipeline(conn, [owned(_REVOKE, owner, share_id=share_id), owned("shares_view.sql", owner)])[-1]


def shared(conn: psycopg.Connection, share_id: UUID) -> list[Row]:
    """What a live link shows (no rows: the link is gone)."""
    return pipeline(conn, [plain("shared_view.sql", share_id=share_id)], reads_only=True)[0]
