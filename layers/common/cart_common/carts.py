"""Cart operations: what each route does, in terms of the data-access module and the cart rules."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any
from uuid import UUID

from cart_common import store
from cart_common.config import Settings, get_settings
from cart_common.db import get_database
from cart_common.models import AddItem, Cart, CartItem, Totals, UpdateItem
from cart_common.session import Session


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


def _run(work: Any) -> Cart:
    settings = get_settings()
    return build_cart(get_database().run(work), settings)


def get_cart(session: Session) -> Cart:
    if session.is_new:  # a first visit: there is no cart to read, and a GET writes nothing
        return build_cart([], get_settings())
    return _run(partial(store.cart_rows, owner=session.owner))


def add_item(session: Session, body: AddItem) -> Cart:
    settings = get_settings()
    return _run(
        partial(
            store.add_line,
            owner=session.owner,
            product_id=body.product_id,
            variant_id=body.variant_id,
            quantity=body.quantity,
            attributes=body.attributes,
            max_line=settings.max_quantity_per_line,
            ttl_days=settings.guest_cart_ttl_days,
            default_currency=settings.default_currency,
        )
    )


def update_item(session: Session, item_id: UUID, body: UpdateItem) -> Cart:
    settings = get_settings()
    common = {"owner": session.owner, "item_id": item_id, "ttl_days": settings.guest_cart_ttl_days}
    if body.quantity == 0:
        return _run(partial(store.remove_line, **common))
    if body.variant_id is not None:
        return _run(
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
        partial(store.set_quantity, **common, quantity=body.quantity, max_line=settings.max_quantity_per_line)
    )


def remove_item(session: Session, item_id: UUID) -> Cart:
    return _run(partial(store.remove_line, owner=session.owner, item_id=item_id, ttl_days=get_settings().guest_cart_ttl_days))


def clear_cart(session: Session) -> Cart:
    return _run(partial(store.clear_lines, owner=session.owner, ttl_days=get_settings().guest_cart_ttl_days))
