"""Recovery links for abandoned carts: ``<STOREFRONT_URL>/cart/recover?token=...`` in the admin
listing and in the ``CartAbandoned`` event; ``POST /cart/recover`` brings the cart back.

A token is ``r1.<payload>.<signature>``: the payload is the cart's id (16 bytes), its
``abandoned_at`` (microseconds since the epoch) and the token's expiry (seconds), 32 bytes as
unpadded base64url; the signature is an HMAC-SHA256 of ``r1.<payload>`` under the guest sessions'
signing key ring (``session.sign``/``session.signed``: one key ring, one rotation). The ``r1``
tag keeps the two kinds apart: a guest token signs ``v1.<random>``, never a string starting
``r1.``, and its shape is different, so neither verifies as the other.

Why these fields:

- ``abandoned_at`` binds the link to one abandonment. Any later change of the cart clears the mark,
  and a later mark has another time, so a link dies once the cart changes state (the shopper came
  back, it was converted, merged, recovered) without any server-side list of tokens.
- the expiry (``RECOVERY_TOKEN_TTL_DAYS`` after the mark) is checked before the database, and
  signed, so it cannot be stretched; the token for one mark is always the same string (the admin
  listing and the event show the same URL).
- nothing else: the owner is read from the cart, so a link never names a shopper, and the token in
  a URL (logs, referrers) is only worth the cart it names, which ``POST /cart/recover`` gives only
  to a browser or the user it may belong to.

The token is never logged: the route logs only the cart id (the operations log) and problem codes.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID

from cart_common.config import Settings, get_settings
from cart_common.errors import RecoveryLinkExpired, RecoveryLinkInvalid
from cart_common.session import sign, signed

TOKEN_VERSION = "r1"  # noqa: S105 - a format tag, not a secret
PATH = "/cart/recover"
_PAYLOAD = struct.Struct(">16sqq")  # cart id, abandoned_at (µs since the epoch), expiry (s since the epoch)
_SHAPE = re.compile(rf"{TOKEN_VERSION}\.([A-Za-z0-9_-]{{43}})\.([A-Za-z0-9_-]{{43}})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TOKEN_CHARS = 128  # what the route accepts at all (a token is 90)


@dataclass(frozen=True)
class RecoveryClaim:
    """What a verified token says: which cart, as abandoned when, and until when the link holds."""

    cart_id: UUID
    abandoned_at: datetime
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def expiry(abandoned_at: datetime, settings: Settings | None = None) -> datetime:
    """When a link for the mark at ``abandoned_at`` stops working (to the second)."""
    ttl = timedelta(days=(settings or get_settings()).recovery_token_ttl_days)
    seconds = (_micros(abandoned_at) + int(ttl.total_seconds() * 1_000_000)) // 1_000_000
    return _EPOCH + timedelta(seconds=seconds)


def mint(cart_id: UUID, abandoned_at: datetime, settings: Settings | None = None) -> str:
    """The recovery token of ``cart_id`` as marked abandoned at ``abandoned_at``."""
    settings = settings or get_settings()
    expires = int((expiry(abandoned_at, settings) - _EPOCH).total_seconds())
    body = f"{TOKEN_VERSION}.{_b64(_PAYLOAD.pack(cart_id.bytes, _micros(abandoned_at), expires))}"
    return f"{body}.{sign(body, settings)}"


def verify(token: Any, settings: Settings | None = None, *, now: float | None = None) -> RecoveryClaim:
    """The claim of a token this API signed and that has not expired: ``RecoveryLinkInvalid`` for
    anything else of the right type (forged, damaged, cut short, another kind of token), and
    ``RecoveryLinkExpired`` past its expiry. No database query either way."""
    settings = settings or get_settings()
    match = _SHAPE.fullmatch(token) if isinstance(token, str) and len(token) <= MAX_TOKEN_CHARS else None
    if match is None:
        raise RecoveryLinkInvalid()
    body = token.rpartition(".")[0]
    if not signed(body, match.group(2), settings):
        raise RecoveryLinkInvalid()
    try:
        raw_id, micros, expires = _PAYLOAD.unpack(base64.urlsafe_b64decode(match.group(1) + "="))
        claim = RecoveryClaim(
            UUID(bytes=raw_id),
            _EPOCH + timedelta(microseconds=micros),
            _EPOCH + timedelta(seconds=expires),
        )
    except (binascii.Error, struct.error, ValueError, OverflowError):
        raise RecoveryLinkInvalid() from None  # signed by us, so only a key leak makes this reachable
    if (time.time() if now is None else now) >= claim.expires_at.timestamp():
        raise RecoveryLinkExpired(expiredAt=claim.expires_at.isoformat())
    return claim


def recovery_url(cart_id: UUID, abandoned_at: datetime, settings: Settings | None = None) -> str | None:
    """``<STOREFRONT_URL>/cart/recover?token=...`` for the cart as abandoned at ``abandoned_at``;
    None when STOREFRONT_URL is unset (an API without a storefront has no page to link to)."""
    settings = settings or get_settings()
    if not settings.storefront_url:
        return None
    token = mint(cart_id, abandoned_at, settings)
    return f"{settings.storefront_url.rstrip('/')}{PATH}?token={quote(token, safe='')}"


def abandoned_event_fields(cart_id: UUID, abandoned_at: datetime, settings: Settings | None = None) -> dict[str, Any]:
    """What a ``CartAbandoned`` event's detail carries about recovery, for the publisher to merge in
    at publish time: ``recoveryUrl`` (null without STOREFRONT_URL) and ``recoveryExpiresAt``."""
    settings = settings or get_settings()
    return {
        "recoveryUrl": recovery_url(cart_id, abandoned_at, settings),
        "recoveryExpiresAt": expiry(abandoned_at, settings).isoformat(),
    }
