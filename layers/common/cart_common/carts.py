"""Cart operations: what each route does, in terms of the data-access module and the cart rules."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any
from uuid import UUID

import psycopg

from cart_common import store
from cart_common.config import Settings, get_settings
from cart_common.db import Database, get_database
from cart_common.errors import AuthenticationRequired
from cart_common.models import (
    AddItem,
    CappedLine,
    Cart,
    CartItem,
    MergeLine,
    MergeReport,
    MergeResult,
    RemovedLine,
    SkippedLine,
    Totals,
    UpdateItem,
)
from cart_common.session import Owner, Session


def _item(row: dict[str, Any], max_line: int) -> CartItem:
    line_max = min(max_line, row["max_per_order"] or max_line)
    max_quantity = max(0, min(line_max, row["stock"])) if row["active"] else 0
    return CartItem(
        id=row["item_id"],
        product_id=row["product_id"],
        variant_id=row["variant_id"],
        sku=row["sku"],
        name=row["name"],
        image_url=row["image_url"],
        attributes=row["attributes"],
        quantity=row["quantity"],
        unit_price=row["unit_price"],
        price_at_add=row["price_at_add"],
        price_changed=row["unit_price"] != row["price_at_add"],
        line_total=row["unit_price"] * row["quantity"],
        available=row["active"] and row["quantity"] <= max_quantity,
        max_quantity=max_quantity,
    )


def build_cart(rows: Sequence[dict[str, Any]], settings: Settings) -> Cart:
    """The wire cart from the view rows (one per line; one row with no line for an empty cart,
    none when the owner has no cart yet). Totals use current prices."""
    items = [_item(row, settings.max_quantity_per_line) for row in rows if row["item_id"] is not None]
    subtotal = sum(item.line_total for item in items)
    discount = shipping = tax = 0
    head = rows[0] if rows else None
    return Cart(
        id=head["cart_id"] if head else None,
        version=head["version"] if head else 0,
        currency=head["currency"] if head else settings.default_currency,
        items=items,
        item_count=sum(item.quantity for item in items),
        subtotal=subtotal,
        totals=Totals(
            subtotal=subtotal,
            discount=discount,
            shipping=shipping,
            tax=tax,
            total=max(0, subtotal - discount + shipping + tax),
        ),
    )


def merge_report(outcome: dict[str, Any], strategy: str) -> MergeReport:
    """The merge's line-by-line outcome (from ``store.merge_carts``) as the shopper-facing report."""
    added, combined, capped, skipped = [], [], [], []
    for line in outcome["lines"]:
        base = {k: line[k] for k in ("productId", "variantId", "guestQuantity", "userQuantity", "quantity")}
        reason = line.get("reason")
        if reason in ("currency_mismatch", "unavailable") or line["quantity"] == 0:
            skipped.append(SkippedLine.model_validate(base | {"reason": reason or "out_of_stock"}))
            continue
        (combined if line["userHadLine"] else added).append(MergeLine.model_validate(base))
        if reason and line["quantity"] < line.get("wanted", line["quantity"]):
            capped.append(CappedLine.model_validate(base | {"requested": line["wanted"], "reason": reason}))
    return MergeReport(
        outcome=outcome["outcome"],
        strategy=strategy,  # type: ignore[arg-type]
        added=added,
        combined=combined,
        capped=capped,
        skipped=skipped,
        removed=[RemovedLine.model_validate(r) for r in outcome["removed"]],
    )


def _merge_on(conn: psycopg.Connection, user: Owner, guest: Owner, settings: Settings) -> tuple[dict, list]:
    merge = partial(
        store.merge_carts,
        conn,
        user,
        guest,
        strategy=settings.merge_strategy,
        max_line=settings.max_quantity_per_line,
        user_ttl_days=settings.user_cart_ttl_days,
    )
    try:
        return merge()
    except psycopg.errors.UniqueViolation:
        # The user's first cart was created by a concurrent add between our lock and our adopt;
        # everything rolled back, and the second attempt sees that cart and merges into it.
        return merge()


def merge_guest_cart(user: Owner, guest: Owner, database: Database | None = None) -> MergeResult:
    """Merge a guest's cart into a user's: idempotent (a replay is a no-op), atomic, race-free.
    The one merge behind the Cognito trigger, the lazy path and ``POST /cart/merge``."""
    settings = get_settings()
    outcome, view = (database or get_database()).run(lambda conn: _merge_on(conn, user, guest, settings))
    return MergeResult(cart=build_cart(view, settings), merge=merge_report(outcome, settings.merge_strategy))


def merge(session: Session) -> MergeResult:
    """``POST /cart/merge``: the caller must be signed in; the guest session is optional (without
    one there is nothing to merge and the answer is the user's cart)."""
    if not session.is_user:
        raise AuthenticationRequired("Sign in, then send the guest session (cookie or X-Cart-Session) to merge")
    if session.guest is None:
        settings = get_settings()
        cart = build_cart(get_database().run(partial(store.cart_rows, owner=session.owner)), settings)
        empty = {"outcome": "nothing_to_merge", "lines": [], "removed": []}
        return MergeResult(cart=cart, merge=merge_report(empty, settings.merge_strategy))
    result = merge_guest_cart(session.owner, session.guest)
    session.merged = True
    return result


# (sub, email) pairs this execution environment has already written: an ID token's email is
# remembered once per environment, not on every request.
_remembered_emails: dict[tuple[str, str], None] = {}


def remember_email(conn: psycopg.Connection, user: Owner, email: str | None) -> None:
    if not email or (user.key, email) in _remembered_emails:
        return
    store.remember_email(conn, user, email)
    if len(_remembered_emails) >= 10_000:
        _remembered_emails.clear()
    _remembered_emails[(user.key, email)] = None


def _run(session: Session, work: Any) -> Cart:
    """Run a cart operation; a signed-in caller still carrying a guest session has it merged first
    (the lazy path: hosted UI and social sign-in send no ClientMetadata to the Cognito trigger)."""
    settings = get_settings()

    def lazily_merged(conn: psycopg.Connection) -> list[dict[str, Any]]:
        if session.is_user:
            remember_email(conn, session.owner, session.claims.get("email"))
        if session.guest is not None:
            _merge_on(conn, session.owner, session.guest, settings)
            session.merged = True
        return work(conn)

    return build_cart(get_database().run(lazily_merged), settings)


def _ttl(session: Session) -> int:
    return get_settings().cart_ttl_days(session.owner.kind)


def get_cart(session: Session) -> Cart:
    if session.is_new:  # a first visit: there is no cart to read, and a GET writes nothing
        return build_cart([], get_settings())
    return _run(session, partial(store.cart_rows, owner=session.owner))


def add_item(session: Session, body: AddItem) -> Cart:
    settings = get_settings()
    return _run(
        session,
        partial(
            store.add_line,
            owner=session.owner,
            product_id=body.product_id,
            variant_id=body.variant_id,
            quantity=body.quantity,
            attributes=body.attributes,
            max_line=settings.max_quantity_per_line,
            ttl_days=_ttl(session),
            default_currency=settings.default_currency,
        ),
    )


def update_item(session: Session, item_id: UUID, body: UpdateItem) -> Cart:
    settings = get_settings()
    common = {"owner": session.owner, "item_id": item_id, "ttl_days": _ttl(session)}
    if body.quantity == 0:
        return _run(session, partial(store.remove_line, **common))
    if body.variant_id is not None:
        return _run(
            session,
            partial(
                store.switch_variant,
                **common,
                variant_id=body.variant_id,
                quantity=body.quantity,
                max_line=settings.max_quantity_per_line,
            )
        )
    assert body.quantity is not None  # guaranteed by UpdateItem's validator
    return _run(
        session,
        partial(store.set_quantity, **common, quantity=body.quantity, max_line=settings.max_quantity_per_line),
    )


def remove_item(session: Session, item_id: UUID) -> Cart:
    return _run(session, partial(store.remove_line, owner=session.owner, item_id=item_id, ttl_days=_ttl(session)))


def clear_cart(session: Session) -> Cart:
    return _run(session, partial(store.clear_lines, owner=session.owner, ttl_days=_ttl(session)))
