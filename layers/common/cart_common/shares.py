"""Share links (issue 23, docs/lists.md): a read-only link to a shopper's cart or one of their lists.
``GET /shared/{token}`` shows it to anyone who holds the link (no credentials, no session);
``POST /cart/copy-shared`` adds its lines to the caller's own cart.

A token is ``s1.<payload>.<signature>``: the payload is the link's id (16 random bytes, a UUID) and its
expiry (seconds since the epoch), 24 bytes as unpadded base64url; the signature is an HMAC-SHA256 of
``s1.<payload>`` under the guest sessions' signing key ring (``session.sign``/``session.signed``: one
key ring, one rotation, as recovery links use). The tag keeps the kinds apart: a guest token signs
``v1.<random>``, a recovery link ``r1.<payload>``, and their shapes differ, so none verifies as another.

- a forged, damaged or cut-short token is ``share_link_invalid`` (404) and an expired one
  ``share_link_expired`` (410), both decided before the database, so neither says anything about
  whether a link, a cart or an owner exists;
- the row (``share_link``) is what makes a link revocable: a live token whose row is gone (revoked, its
  list deleted, its owner erased) is ``share_link_revoked`` (410);
- the token names no one: the link's id is random, the owner is read from the row and never shown;
  what ``GET /shared/{token}`` answers holds no cart, list or link id, session, user id or email, and
  not the shopper's own line attributes (a gift note is theirs);
- the token for one link is always the same string (``GET /shares`` shows it again).

A token is never logged: the operations log has the route key (``GET /shared/{token}``), never the path.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from aws_lambda_powertools.event_handler import Response

from cart_common import lists
from cart_common.catalog import _cached
from cart_common.config import Settings, get_settings
from cart_common.db import get_database
from cart_common.errors import ShareLinkExpired, ShareLinkInvalid, ShareLinkRevoked, ShareNotFound
from cart_common.models import AddedToCart, CopySharedCart, NewShareLink, SharedCart, SharedItem, ShareLink, ShareLinks
from cart_common.session import Session, sign, signed
from cart_common.store import Row
from cart_common.store import shares as store

TOKEN_VERSION = "s1"  # noqa: S105 - a format tag, not a secret
PATH = "/shared"
_PAYLOAD = struct.Struct(">16sq")  # the link's id, its expiry (s since the epoch)
_SHAPE = re.compile(rf"{TOKEN_VERSION}\.([A-Za-z0-9_-]{{32}})\.([A-Za-z0-9_-]{{43}})")
MAX_TOKEN_CHARS = 128  # what is read at all (a token is 79)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Whoever holds the link reads it: a browser or a proxy may keep it, but must ask again each time, so a
# revoked link stops showing at once (the ETag saves the body when nothing changed).
CACHE_CONTROL = "private, no-cache"


@dataclass(frozen=True)
class ShareClaim:
    share_id: UUID
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _seconds(moment: datetime) -> int:
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def mint(share_id: UUID, expires_at: datetime, settings: Settings | None = None) -> str:
    """The token of link ``share_id`` expiring at ``expires_at`` (to the second)."""
    body = f"{TOKEN_VERSION}.{_b64(_PAYLOAD.pack(share_id.bytes, _seconds(expires_at)))}"
    return f"{body}.{sign(body, settings)}"


def verify(token: Any, settings: Settings | None = None, *, now: float | None = None) -> ShareClaim:
    """The claim of a token this API signed that has not expired: ``ShareLinkInvalid`` for anything else
    (forged, damaged, cut short, another kind of token), ``ShareLinkExpired`` past its expiry. No
    database query either way."""
    settings = settings or get_settings()
    match = _SHAPE.fullmatch(token) if isinstance(token, str) and len(token) <= MAX_TOKEN_CHARS else None
    if match is None or not signed(token.rpartition(".")[0], match.group(2), settings):
        raise ShareLinkInvalid()
    try:
        raw_id, expires = _PAYLOAD.unpack(base64.urlsafe_b64decode(match.group(1)))
        claim = ShareClaim(UUID(bytes=raw_id), _EPOCH + timedelta(seconds=expires))
    except (binascii.Error, struct.error, ValueError, OverflowError):
        raise ShareLinkInvalid() from None  # signed by us, so only a key leak makes this reachable
    if (time.time() if now is None else now) >= claim.expires_at.timestamp():
        raise ShareLinkExpired(expiredAt=claim.expires_at.isoformat())
    return claim


def _link(row: Row, settings: Settings) -> ShareLink:
    token = mint(row["id"], row["expires_at"], settings)
    path = f"{PATH}/{token}"
    return ShareLink(
        share_id=row["id"], kind="list" if row["list_id"] else "cart", list_id=row["list_id"], name=row["list_name"],
        token=token, path=path, url=f"{settings.storefront_url.rstrip('/')}{path}" if settings.storefront_url else None,
        created_at=row["created_at"], expires_at=row["expires_at"],
    )  # fmt: skip


def _links(rows: list[Row], settings: Settings) -> ShareLinks:
    return ShareLinks(links=[_link(row, settings) for row in rows])


# --- the owner's routes --------------------------------------------------------------------------------


def create_share(session: Session, body: NewShareLink, list_id: UUID | None = None) -> ShareLink:
    """POST /cart/share (the cart's lines as they are now) and POST /lists/{listId}/share (the list as it
    will be): a link expiring ``expiresInDays`` from now (at most SHARE_LINK_MAX_TTL_DAYS)."""
    settings = get_settings()
    days = min(body.expires_in_days or settings.share_link_ttl_days, settings.share_link_max_ttl_days)
    # whole seconds: what the token carries is what the row holds
    expires_at = datetime.fromtimestamp(int(time.time() + days * 86_400), UTC)
    share_id = uuid4()

    def op(conn: Any) -> ShareLink:
        rows = store.create_share(
            conn, session.owner, share_id=share_id, list_id=list_id, expires_at=expires_at,
            max_links=settings.max_share_links,
        )  # fmt: skip
        return next(_link(row, settings) for row in rows if row["id"] == share_id)

    return lists.owned_change(session, op, ShareLink)


def get_shares(session: Session) -> ShareLinks:
    settings = get_settings()
    if session.is_new:
        return ShareLinks(links=[])
    return lists.owned_read(session, lambda conn: _links(store.shares(conn, session.owner), settings))


def revoke_share(session: Session, share_id: UUID) -> ShareLinks:
    """The link stops working at once (share_link_revoked); another owner's is share_not_found."""
    settings = get_settings()
    if session.is_new:
        raise ShareNotFound(shareId=str(share_id))
    return lists.owned_change(
        session, lambda conn: _links(store.revoke_share(conn, session.owner, share_id=share_id), settings), ShareLinks
    )


# --- whoever holds the link -------------------------------------------------------------------------


def _shared(rows: list[Row]) -> SharedCart:
    head = rows[0]
    items = [
        SharedItem.model_validate(
            row
            | {
                "line_total": row["unit_price"] * row["quantity"],
                "available": row["active"] and 0 < row["quantity"] <= row["available_stock"],
            }
        )
        for row in rows
        if row["name"] is not None  # a line whose product no longer exists is left out
    ]
    currencies = {item.currency for item in items}
    single = currencies.pop() if len(currencies) == 1 else None
    return SharedCart(
        kind="list" if head["is_list"] else "cart", name=head["list_name"], items=items,
        item_count=sum(item.quantity for item in items), currency=single,
        subtotal=sum(item.line_total for item in items) if single else (0 if not items else None),
        expires_at=head["expires_at"],
    )  # fmt: skip


def shared_cart(token: str, headers: dict[str, str]) -> Response[str | None]:
    """GET /shared/{token}: what the link shows now, cacheable by its ETag (304 when unchanged)."""
    claim = verify(token)
    rows = get_database().run(partial(store.shared, share_id=claim.share_id))
    if not rows:
        raise ShareLinkRevoked()
    return _cached(_shared(rows).model_dump_json(by_alias=True), headers, CACHE_CONTROL)


def copy_shared(session: Session, body: CopySharedCart) -> AddedToCart:
    """POST /cart/copy-shared: the link's lines added to the caller's own cart, with the report."""
    claim = verify(body.token)
    return lists.copy_into_cart(session, claim.share_id)
