"""Lists (issue 23, docs/lists.md): what each list route does, in terms of the data-access package
(``store.lists``) and the view builders below, run by ``owned_change`` / ``owned_read``, which do for a
list what ``carts._execute`` does for the cart: the lazy sign-in merge (a signed-in caller still
carrying a guest session has its cart and lists merged first), Idempotency-Key (the change and its
stored response in one transaction), the rate limits' statements in the change's own round trip.

Versions: a list route's If-Match is the list's version and its ETag the version of what it answers
(a list's; a cart answer's, the cart's); a ``/cart`` route's If-Match is the cart's, as everywhere. A
list's ETag is set on the answer itself (``answered``), not through the session, which is the cart's:
the operations log's versions stay the cart's.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from uuid import UUID, uuid4

import psycopg
from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from cart_common import oplog, store
from cart_common.carts import _rate_limits, remember_email, run_once
from cart_common.config import Settings, get_settings
from cart_common.db import get_database, queue
from cart_common.errors import ListNotFound, VersionConflict
from cart_common.models import (
    AddedLine,
    AddedToCart,
    AddItem,
    Cart,
    ListChanges,
    ListItem,
    ListMove,
    Lists,
    ListSummary,
    MoveToList,
    NewList,
    ShoppingList,
)
from cart_common.session import Session
from cart_common.store import Row
from cart_common.store import lists as lists_store
from cart_common.store.lists import ListBounds, ListChange
from cart_common.view import build_cart, merge_report

# --- building the answers (pure) ------------------------------------------------------------------


def list_item(row: Row) -> ListItem:
    available = row["active"] and row["available_stock"] > 0
    return ListItem.model_validate(
        row
        | {
            "id": row["item_id"],
            "price_change": row["unit_price"] - row["price_at_save"],
            "available": available,
            "back_in_stock": row["stock_at_save"] <= 0 < row["available_stock"] and row["active"],
        }
    )


def build_list(rows: list[Row]) -> ShoppingList:
    """A list from its view rows (list_view.sql: one row per item, one with no item for an empty list)."""
    head = rows[0]
    items = [list_item(row) for row in rows if row["item_id"] is not None]
    return ShoppingList(
        id=head["list_id"], name=head["list_name"], is_default=head["is_default"], version=head["version"],
        item_count=len(items), created_at=head["created_at"], updated_at=head["updated_at"], items=items,
    )  # fmt: skip


def build_lists(rows: list[Row], settings: Settings) -> Lists:
    return Lists(
        lists=[ListSummary.model_validate(row) for row in rows],
        max_lists=settings.max_lists,
        max_list_items=settings.max_list_items,
    )


def added_lines(conflicts: list[Row]) -> list[AddedLine]:
    """The sync statement's rows (with strategy ``sum``) as the report of what a restore or a copy
    added: each line it brought (``clientQuantity``), what the cart held before and holds now."""
    return [
        AddedLine(
            product_id=row["productId"],
            variant_id=row["variantId"],
            requested=row["clientQuantity"],
            added=row["resolved"] - row["serverQuantity"],
            quantity=row["resolved"],
            reason=row["reason"],
        )
        for row in conflicts
        if row["clientQuantity"] > 0
    ]


# --- running them -----------------------------------------------------------------------------------


def _lazy_merge(conn: psycopg.Connection, session: Session, settings: Settings, merged: list[Row]) -> None:
    """A signed-in caller's guest session (the lazy path of carts._execute): its cart and lists merged
    into the user's first, in their own round trip."""
    merged.clear()
    if session.is_user:
        remember_email(conn, session.owner, session.claims.get("email"))
    if session.guest is not None:
        outcome, view = store.merge_cart(
            conn, session.owner, session.guest, strategy=settings.merge_strategy, limits=settings.limits,
            user_ttl_days=settings.user_cart_ttl_days, max_list_items=settings.max_list_items,
        )  # fmt: skip
        merged.append(outcome | {"cart_id": view.lines[0]["cart_id"] if view.lines else None})
        session.merged = True


def owned_change[R: BaseModel](
    session: Session,
    op: Callable[[psycopg.Connection], R],
    model: type[R],
    *,
    version: Callable[[R], int | None] = lambda _: None,
    creates_cart: bool = False,
) -> R:
    """One change of the caller's lists (and maybe cart), rate-limited like a cart change (a change that
    may create a guest's cart also counts against its client address), exactly once with an
    Idempotency-Key (a retry answers the stored response). ``version`` picks the ETag's version for an
    answer that holds the cart (a list's answer carries its own: ``answered``)."""
    settings, database = get_settings(), get_database()
    scope = f"{session.owner.kind}:{session.owner.key}"
    limits = _rate_limits(session, creates=creates_cart)
    merged: list[Row] = []

    def work(conn: psycopg.Connection) -> R:
        _lazy_merge(conn, session, settings, merged)
        if limits:
            queue(conn, limits, rows=session.rate_limits)
        return op(conn)

    try:
        response, replayed = run_once(database, session, scope, work, model)
    except VersionConflict:
        # A /cart route's stale If-Match: the problem carries the cart as it is, as every cart change's does.
        current = build_cart(database.run(partial(store.cart_rows, owner=session.owner)), settings)
        session.cart_version = current.version
        raise VersionConflict(
            currentVersion=current.version, cart=current.model_dump(mode="json", by_alias=True)
        ) from None
    _logged(session, response, [] if replayed else merged, settings, replay=replayed)
    session.cart_version = version(response)
    return response


def owned_read[R: BaseModel](session: Session, op: Callable[[psycopg.Connection], R]) -> R:
    """A read of the caller's lists (or links); a signed-in caller's guest session is merged first."""
    settings = get_settings()
    merged: list[Row] = []

    def work(conn: psycopg.Connection) -> R:
        _lazy_merge(conn, session, settings, merged)
        return op(conn)

    response = get_database().run(work)
    _logged(session, response, merged, settings)
    return response


def _logged(
    session: Session, response: BaseModel, merged: list[Row], settings: Settings, *, replay: bool = False
) -> None:
    """The operations log's cart fields, when the answer holds the cart (a move, a restore, a copy)."""
    cart = getattr(response, "cart", None)
    if isinstance(cart, Cart):
        oplog.cart(cart, changes=True, merge=merged[0]["outcome"] if merged else None, replay=replay)
    elif replay and (record := oplog.current()) is not None:
        record.replay = True
    if merged and session.guest is not None:
        report = merge_report(merged[0], settings.merge_strategy)
        cart_id = merged[0]["cart_id"]
        oplog.merged(report, via="lazy", user=session.owner, guest=session.guest, cart_id=cart_id)


# --- the routes ---------------------------------------------------------------------------------------


def _bounds(settings: Settings) -> ListBounds:
    return ListBounds(settings.max_lists, settings.max_list_items, settings.max_quantity_per_line)


def _list_ttl(session: Session) -> float | None:
    """How long a guest's list lives after a change (as a guest cart); a user's never expires."""
    return None if session.is_user else get_settings().guest_cart_ttl_days


def _change(session: Session, list_id: UUID) -> ListChange:
    return ListChange(session.owner, list_id, _list_ttl(session), session.expected_version)


def _cart(session: Session, *, if_match: bool = False) -> store.Change:
    """The caller's cart, for a change that adds to it; its If-Match only on a /cart route."""
    owner = session.owner
    return store.Change(owner, get_settings().cart_ttl_days(owner.kind), session.expected_version if if_match else None)


def _found(rows: list[Row], list_id: UUID | None) -> ShoppingList:
    if not rows:
        raise ListNotFound(listId=str(list_id))
    return build_list(rows)


def answered(answer: ShoppingList, status: int = 200) -> Response[ShoppingList]:
    """A list as an answer, with its version as ETag."""
    return Response(
        status_code=status, content_type="application/json", body=answer, headers={"ETag": f'"{answer.version}"'}
    )


def get_lists(session: Session) -> Lists:
    settings = get_settings()
    if session.is_new:  # a first visit: nothing to read
        return build_lists([], settings)
    return owned_read(session, lambda conn: build_lists(lists_store.lists(conn, session.owner), settings))


def get_list(session: Session, list_id: UUID) -> Response[ShoppingList]:
    if session.is_new:
        raise ListNotFound(listId=str(list_id))
    return answered(
        owned_read(session, lambda conn: _found(lists_store.list_rows(conn, session.owner, list_id), list_id))
    )


def create_list(session: Session, body: NewList, *, from_cart: bool = False) -> Response[ShoppingList]:
    """POST /lists (an empty list) and POST /cart/save-as-list (``from_cart``: the cart's lines, the
    cart kept as it is; the cart's If-Match: "the cart as I saw it")."""
    settings = get_settings()
    list_id = uuid4()

    def op(conn: psycopg.Connection) -> ShoppingList:
        rows = lists_store.create_list(
            conn, session.owner, list_id=list_id, name=body.name, ttl_days=_list_ttl(session), bounds=_bounds(settings),
            from_cart=from_cart, expected=session.expected_version if from_cart else None,
        )  # fmt: skip
        return build_list(rows)

    return answered(owned_change(session, op, ShoppingList), 201)


def rename_list(session: Session, list_id: UUID, body: ListChanges) -> Response[ShoppingList]:
    change = _change(session, list_id)

    def op(conn: psycopg.Connection) -> ShoppingList:
        return build_list(lists_store.rename_list(conn, change, name=body.name))

    return answered(owned_change(session, op, ShoppingList))


def delete_list(session: Session, list_id: UUID) -> Lists:
    settings, change = get_settings(), _change(session, list_id)
    return owned_change(session, lambda conn: build_lists(lists_store.delete_list(conn, change), settings), Lists)


def add_list_item(session: Session, list_id: UUID, body: AddItem) -> Response[ShoppingList]:
    settings, change = get_settings(), _change(session, list_id)

    def op(conn: psycopg.Connection) -> ShoppingList:
        rows = lists_store.add_list_item(
            conn, change, product_id=body.product_id, variant_id=body.variant_id, quantity=body.quantity,
            attributes=body.attributes, limits=settings.limits, bounds=_bounds(settings),
        )  # fmt: skip
        return build_list(rows)

    return answered(owned_change(session, op, ShoppingList))


def remove_list_item(session: Session, list_id: UUID, list_item_id: UUID) -> Response[ShoppingList]:
    change = _change(session, list_id)

    def op(conn: psycopg.Connection) -> ShoppingList:
        return build_list(lists_store.remove_list_item(conn, change, list_item_id=list_item_id))

    return answered(owned_change(session, op, ShoppingList))


def move_to_list(session: Session, item_id: UUID, body: MoveToList) -> ListMove:
    """A cart line to a list (the default Wishlist unless ``listId``); the cart's If-Match and ETag."""
    settings = get_settings()

    def op(conn: psycopg.Connection) -> ListMove:
        cart, listed = lists_store.move_to_list(
            conn, _cart(session, if_match=True), item_id=item_id, list_id=body.list_id,
            list_ttl_days=_list_ttl(session), limits=settings.limits, bounds=_bounds(settings),
        )  # fmt: skip
        return ListMove(cart=build_cart(cart, settings), list=build_list(listed))

    return owned_change(session, op, ListMove, version=lambda answer: answer.cart.version)


def move_to_cart(session: Session, list_id: UUID, list_item_id: UUID) -> ListMove:
    """A list item into the cart as an add (refused: the add's problem, and it stays in the list); the
    list's If-Match and ETag."""
    settings, change = get_settings(), _change(session, list_id)

    def op(conn: psycopg.Connection) -> ListMove:
        cart, listed = lists_store.move_to_cart(
            conn, change, list_item_id=list_item_id, cart=_cart(session), limits=settings.limits,
            default_currency=settings.default_currency,
        )  # fmt: skip
        return ListMove(cart=build_cart(cart, settings), list=build_list(listed))

    return owned_change(session, op, ListMove, version=lambda answer: answer.list.version, creates_cart=True)


def restore_list(session: Session, list_id: UUID) -> AddedToCart:
    """Every item of the list into the cart as adds, each capped by what an add allows and reported; the
    list is kept (its If-Match: "the list as I saw it"); the cart's ETag."""
    settings, change = get_settings(), _change(session, list_id)

    def op(conn: psycopg.Connection) -> AddedToCart:
        conflicts, cart = lists_store.restore_list(
            conn, change, cart=_cart(session), limits=settings.limits, default_currency=settings.default_currency
        )
        return AddedToCart(cart=build_cart(cart, settings), lines=added_lines(conflicts))

    return owned_change(session, op, AddedToCart, version=lambda answer: answer.cart.version, creates_cart=True)


def copy_into_cart(session: Session, share_id: UUID) -> AddedToCart:
    """A share link's lines into the caller's own cart, as a restore adds a list's (the cart's If-Match)."""
    settings = get_settings()

    def op(conn: psycopg.Connection) -> AddedToCart:
        conflicts, cart = lists_store.copy_shared(
            conn, _cart(session, if_match=True), share_id=share_id, limits=settings.limits,
            default_currency=settings.default_currency,
        )  # fmt: skip
        return AddedToCart(cart=build_cart(cart, settings), lines=added_lines(conflicts))

    return owned_change(session, op, AddedToCart, version=lambda answer: answer.cart.version, creates_cart=True)
