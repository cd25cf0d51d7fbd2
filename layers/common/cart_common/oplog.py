"""The operations log: one structured line per cart operation, and a line for each stock refusal, sync
conflict, merge and database reconnect, so support can say what happened to a cart (docs/operations.md).

Every line is a Powertools JSON line of the layer's one ``logger``, so it carries the invocation's
``correlation_id`` (the HTTP API's ``requestContext.requestId``, which the access log calls
``requestId``) and a stable ``oplog`` field saying which kind of line it is:

- ``operation``: ``operation`` (the route's function, e.g. ``add_item``), ``route``, ``status``,
  ``outcome`` (``ok``, ``not_modified``, or the problem's stable ``code``), ``owner_kind`` and
  ``owner``, ``cart_id``, ``version_before`` / ``version_after``, ``idempotent`` (an
  Idempotency-Key was sent) and ``replay`` (the stored response was answered), ``round_trips``,
  ``reconnects`` and ``duration_ms``;
- ``stock_refused``, ``sync_conflict``, ``merge``, ``reconnect``: what each says, with the
  operation's owner, cart and name where it is known.

What no line holds: a guest token, a bearer token, a cookie, an email address or a client address.
An owner is ``owner_kind`` and ``owner``: ``owner_id``, the first 16 hex digits of SHA-256 over
``<kind>:<key>``. A plain hash, not a keyed one, on purpose: its inputs cannot be guessed (a guest's
key is already the SHA-256 of a 256-bit random token; a user's is a Cognito ``sub``, a random UUID),
so a key would add nothing against reversing it, while a plain hash lets support find a shopper's
lines from the ``sub`` alone (``owner_id("user", sub)``; docs/operations.md), with no secret to
fetch and nothing that changes when a key is rotated. It is never the stored owner key itself, so a
log line never hands out the database's key for a guest token. 64 bits keep collisions out of reach
for any number of owners a cart store holds.

Nothing here reads the database: ``version_before`` follows from the rules every change keeps (the
first step of a change, ``touch_cart.sql`` or ``ensure_cart.sql``, bumps the version by exactly one
under the cart's row lock; a new cart starts at 1, "no cart" is 0; a merge into a user's cart bumps
it once, and an adopted guest cart means the user had none), and tests hold it against reads.
``round_trips`` counts the pipelines ``db.pipeline`` sent for the request (a retried one twice), not
connection set-up.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from aws_lambda_powertools import Logger

if TYPE_CHECKING:  # only for annotations: this module imports nothing of the layer's at run time
    from cart_common.models import Cart, MergeReport, SyncConflict, ValidationIssue
    from cart_common.session import Owner

# The layer's one logger: JSON lines on stdout, the correlation id added by ``api.observed``.
logger = Logger(service="cart-api")

_OWNER_ID_HEX = 16


def owner_id(kind: str, key: str) -> str:
    """What the log calls an owner: a prefix of SHA-256 over ``<kind>:<key>`` (see the module)."""
    return hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()[:_OWNER_ID_HEX]


@dataclass(slots=True)
class Operation:
    """What one request did, filled in as it runs and written as one line when it ends."""

    route: str | None
    operation: str | None
    started: float
    owner_kind: str | None = None
    owner: str | None = None
    cart_id: str | None = None
    version_before: int | None = None
    version_after: int | None = None
    outcome: str | None = None
    idempotent: bool = False
    replay: bool = False
    round_trips: int = 0
    reconnects: int = 0

    def context(self) -> dict[str, Any]:
        """The fields every other line of this request repeats, so each can be read on its own."""
        return {
            "operation": self.operation,
            "owner_kind": self.owner_kind,
            "owner": self.owner,
            "cart_id": self.cart_id,
        }


# The request being served by this thread (the local stack serves several at once in one process;
# Lambda one at a time). None outside a request: the sweep, the migrations, the sign-in trigger.
_current: ContextVar[Operation | None] = ContextVar("cart_operation", default=None)


def begin(route: str | None, operation: str | None) -> Token[Operation | None]:
    return _current.set(Operation(route=route, operation=operation, started=time.perf_counter()))


def current() -> Operation | None:
    return _current.get()


def identify(owner: Owner, *, idempotent: bool) -> None:
    """The caller, once the session is known."""
    record = _current.get()
    if record is not None:
        record.owner_kind, record.owner = owner.kind, owner_id(owner.kind, owner.key)
        record.idempotent = idempotent


def refused(code: str) -> None:
    """The problem the request is answered with (the error mapping calls this)."""
    record = _current.get()
    if record is not None:
        record.outcome = code


def count_round_trip() -> None:
    record = _current.get()
    if record is not None:
        record.round_trips += 1


def cart(
    cart: Cart | None,
    *,
    version: int | None = None,
    changes: bool = False,
    merge: str | None = None,
    replay: bool = False,
) -> None:
    """The cart the request ended with (or, refused, the current ``version`` it was refused at):
    ``changes`` when the operation itself is a change of the cart (one bump), ``merge`` the outcome of
    a guest cart merged into it on the way, ``replay`` when a stored response was answered."""
    record = _current.get()
    if record is None:
        return
    after = cart.version if cart is not None else version
    record.cart_id = str(cart.id) if cart is not None and cart.id is not None else record.cart_id
    record.version_after, record.replay = after, replay
    if after is None or replay or (cart is not None and cart.id is None):
        record.version_before = after  # nothing changed (or no cart: version 0 before and after)
    elif merge == "adopted":
        record.version_before = 0  # the user had no cart: the guest's became theirs
    else:
        record.version_before = after - int(changes) - int(merge == "merged")


def version_shown(version: int) -> None:
    """The version the response's ETag shows, for a request that never reached ``cart`` (a new
    visitor's read, a 304): nothing changed, so it is the version before and after."""
    record = _current.get()
    if record is not None and record.version_after is None:
        record.version_before = record.version_after = version


def finish(token: Token[Operation | None], status: int) -> None:
    """Write the request's line and forget it."""
    record = _current.get()
    _current.reset(token)
    if record is None:
        return
    outcome = record.outcome or f"http_{status}"
    if status < 400:
        outcome = "not_modified" if status == 304 else "ok"
    logger.info(
        "Cart operation",
        extra={
            "oplog": "operation",
            **record.context(),
            "route": record.route,
            "status": status,
            "outcome": outcome,
            "version_before": record.version_before,
            "version_after": record.version_after,
            "idempotent": record.idempotent,
            "replay": record.replay,
            "round_trips": record.round_trips,
            "reconnects": record.reconnects,
            "duration_ms": round((time.perf_counter() - record.started) * 1000, 1),
        },
    )


def _context() -> dict[str, Any]:
    record = _current.get()
    return record.context() if record is not None else {}


def _text(value: UUID | str | None) -> str | None:
    return None if value is None else str(value)


def stock_refused(
    *,
    available: int | None,
    requested: int | None = None,
    in_cart: int | None = None,
    product_id: UUID | str | None = None,
    variant_id: UUID | str | None = None,
    item_id: UUID | str | None = None,
    saved_id: UUID | str | None = None,
    cart_id: UUID | None = None,
) -> None:
    """Not enough stock for what the shopper asked: ``requested`` (the quantity sent, or the line's
    at checkout), ``in_cart`` (what the line already held, for an add), ``available``. The product
    is named when the request named it (an add) or the cart shows it (validate, checkout); a change
    of an existing line is refused before the cart is read, so it names the line (``item_id``)."""
    logger.info(
        "Stock refused",
        extra={
            "oplog": "stock_refused",
            **_context(),
            **({"cart_id": str(cart_id)} if cart_id is not None else {}),
            "product_id": _text(product_id),
            "variant_id": _text(variant_id),
            "item_id": _text(item_id),
            "saved_id": _text(saved_id),
            "requested": requested,
            "in_cart": in_cart,
            "available": available,
        },
    )


_STOCK_ISSUES = frozenset({"out_of_stock", "insufficient_stock"})


def stock_issues(cart: Cart, issues: Iterable[ValidationIssue]) -> None:
    """Validate's and checkout's stock issues as stock refusals, each named by the cart's line."""
    lines = {item.id: item for item in cart.items}
    for issue in issues:
        if issue.type not in _STOCK_ISSUES:
            continue
        line = lines.get(issue.item_id)
        stock_refused(
            available=issue.current_stock,
            requested=line.quantity if line else None,
            product_id=line.product_id if line else None,
            variant_id=line.variant_id if line else None,
            item_id=issue.item_id,
            cart_id=cart.id,
        )


def sync_conflicts(conflicts: Iterable[SyncConflict], strategy: str) -> None:
    """One line per line the client's copy and the server's cart disagreed on (``reason`` absent:
    it ended as ``strategy`` resolves a difference)."""
    context = _context()
    for conflict in conflicts:
        logger.info(
            "Sync conflict",
            extra={
                "oplog": "sync_conflict",
                **context,
                "strategy": strategy,
                "product_id": str(conflict.product_id),
                "variant_id": _text(conflict.variant_id),
                "client_quantity": conflict.client_quantity,
                "server_quantity": conflict.server_quantity,
                "resolved": conflict.resolved,
                "reason": conflict.reason,
            },
        )


def merged(
    report: MergeReport,
    *,
    via: Literal["trigger", "route", "lazy"],
    user: Owner,
    guest: Owner | None,
    cart_id: UUID | None,
    message: str = "Cart merged",
) -> None:
    """A guest cart merged into a user's: at sign-in (``trigger``), by ``POST /cart/merge``
    (``route``) or on the user's first request that still carried the guest session (``lazy``)."""
    logger.info(
        message,
        extra={
            "oplog": "merge",
            **_context(),
            "owner_kind": user.kind,
            "owner": owner_id(user.kind, user.key),
            "guest_owner": owner_id(guest.kind, guest.key) if guest is not None else None,
            "cart_id": _text(cart_id),
            "via": via,
            "outcome": report.outcome,
            "strategy": report.strategy,
            "lines_moved": len(report.added) + len(report.combined),
            "added": len(report.added),
            "combined": len(report.combined),
            "capped": len(report.capped),
            "skipped": len(report.skipped),
            "removed": len(report.removed),
        },
    )


def reconnect(error: BaseException, sqlstate: str | None) -> None:
    """``Database.run`` found its connection ended by the server and tries once more on a new one.
    The error's class and SQLSTATE only: its message may name the server's host and address."""
    record = _current.get()
    if record is not None:
        record.reconnects += 1
    logger.info(
        "Database reconnect",
        extra={"oplog": "reconnect", **_context(), "error": type(error).__name__, "sqlstate": sqlstate},
    )


def admin_change(action: str, *, version: int | None = None, fields: Iterable[str] = (), **target: Any) -> None:
    """An admin's change of the catalog or the discount codes (``action``: ``product_created``,
    ``variant_updated``, ``discount_code_retired``, ...), named by ``target`` (``product_id``,
    ``variant_id``, ``discount_code``) with the fields it set (names, not values) and the product's
    version after it; the admin is the operation's owner (their hashed sub)."""
    logger.info(
        "Admin change",
        extra={
            "oplog": "admin_change",
            **_context(),
            "action": action,
            **{name: _text(value) for name, value in target.items()},
            "fields": sorted(fields),
            "version": version,
        },
    )


def erased(user_id: str, counts: dict[str, int], *, via: Literal["admin", "account_deleted"]) -> None:
    """A user's data erased (an admin's request, or the user pool's account deletion): whose, by
    ``owner_id`` only (support can find the line from the sub; the line names no one), and how many
    rows of each kind went. The operation's owner, when an admin asked, is that admin."""
    logger.info(
        "User data erased",
        extra={"oplog": "erasure", **_context(), "erased_owner": owner_id("user", user_id), "via": via, **counts},
    )
