"""Rows -> the wire: the cart view, totals, discounts, the merge report and checkout readiness.
Pure functions of the rows the data-access package returned and the settings (no I/O), so each is
unit-tested on its own; ``carts`` orchestrates, this module only builds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cart_common.config import Settings
from cart_common.models import (
    Alternative,
    AppliedDiscount,
    CappedLine,
    Cart,
    CartItem,
    MergeLine,
    MergeReport,
    RemovedLine,
    SavedItem,
    SkippedLine,
    Totals,
    ValidationIssue,
)
from cart_common.store import CartRows

EMPTY = CartRows([])  # the view of an owner without a cart


def _item(row: dict[str, Any], max_line: int) -> CartItem:
    line_max = min(max_line, row["max_per_order"] or max_line)
    # available_stock: what other carts' open checkouts leave (the one definition, migration 0013)
    max_quantity = max(0, min(line_max, row["available_stock"])) if row["active"] else 0
    return CartItem.model_validate(
        row
        | {
            "id": row["item_id"],
            "price_changed": row["unit_price"] != row["price_at_add"],
            "price_drop": row["unit_price"] < row["price_at_add"],
            "line_total": row["unit_price"] * row["quantity"],
            "available": row["active"] and row["quantity"] <= max_quantity,
            "max_quantity": max_quantity,
        }
    )


def discount_amounts(discounts: Sequence[dict[str, Any]], subtotal: int, currency: str) -> list[AppliedDiscount]:
    """What each applied code takes off, in the order applied; together never more than the
    subtotal (pure). A code that no longer applies stays on the cart, taking nothing, with the reason."""
    applied, remaining = [], subtotal
    for code in discounts:
        now = code["now"]
        if not code["active"]:
            reason = "inactive"
        elif code["starts_at"] is not None and now < code["starts_at"]:
            reason = "not_yet_valid"
        elif code["ends_at"] is not None and now >= code["ends_at"]:
            reason = "expired"
        elif code["usage_limit"] is not None and code["times_used"] >= code["usage_limit"]:
            reason = "usage_limit_reached"
        elif subtotal < code["min_subtotal"]:
            reason = "minimum_not_met"
        elif code["kind"] == "fixed" and code["currency"] != currency:
            reason = "currency_mismatch"
        else:
            reason = None
        # Percentages round down: a discount never takes off more than it says.
        wanted = 0 if reason else (subtotal * code["value"] // 100 if code["kind"] == "percent" else code["value"])
        amount = min(wanted, remaining)
        remaining -= amount
        applied.append(
            AppliedDiscount(
                code=code["code"],
                kind=code["kind"],
                value=code["value"],
                amount=amount,
                applicable=reason is None,
                reason=reason,
            )
        )
    return applied


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, in integers (both non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def totals(subtotal: int, discount: int, has_items: bool, settings: Settings, currency: str | None = None) -> Totals:
    """Shipping is the flat rate unless the discounted subtotal reaches the free-shipping threshold
    (none for an empty cart). Tax is ``currency``'s rate (basis points, ``TAX_RATES``; the default
    currency's when None) on what the shopper pays for: the subtotal after discounts plus shipping
    (shipping is taxed like the goods it carries, as VAT is). It is rounded half up once, on the
    cart, never per line (per-line rounding drifts from the rate as lines are added). Inclusive
    (``TAX_INCLUSIVE``): prices already contain it, so it is the part of that amount that is tax,
    r / (10000 + r), and the total is unchanged; exclusive: it is added. The total is never negative."""
    after_discount = subtotal - discount
    threshold = settings.free_shipping_threshold
    free = threshold is not None and after_discount >= threshold
    shipping = settings.shipping_flat_rate if has_items and not free else 0
    taxable = max(0, after_discount + shipping)
    rate = settings.tax_rate(currency or settings.default_currency)
    if settings.tax_inclusive:
        tax, added = _half_up(taxable * rate, 10_000 + rate), 0
    else:
        tax = added = _half_up(taxable * rate, 10_000)
    return Totals(
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        tax=tax,
        total=max(0, after_discount + shipping + added),
        free_shipping_remaining=max(0, threshold - after_discount) if threshold is not None else 0,
        tax_rate=rate,
        tax_included=settings.tax_inclusive,
    )


def _saved(row: dict[str, Any]) -> SavedItem:
    return SavedItem.model_validate(
        row
        | {
            "price_dropped": row["unit_price"] < row["price_at_save"],
            "back_in_stock": row["stock_at_save"] <= 0 < row["available_stock"],
            "available": row["active"] and row["available_stock"] > 0,
        }
    )


def build_cart(rows: CartRows, settings: Settings) -> Cart:
    """The wire cart from the view rows (``rows.lines``: one per line; one row with no line for an
    empty cart, none when the owner has no cart yet), with the saved items and discount codes that
    came with them. Totals use current prices."""
    items = [_item(row, settings.max_quantity_per_line) for row in rows.lines if row["item_id"] is not None]
    subtotal = sum(item.line_total for item in items)
    head = rows.lines[0] if rows.lines else None
    currency = head["currency"] if head else settings.default_currency
    codes = discount_amounts(rows.discounts, subtotal, currency)
    return Cart(
        id=head["cart_id"] if head else None,
        version=head["version"] if head else 0,
        currency=currency,
        items=items,
        item_count=sum(item.quantity for item in items),
        subtotal=subtotal,
        totals=totals(subtotal, sum(code.amount for code in codes), bool(items), settings, currency),
        discount_codes=codes,
        saved_for_later=[_saved(row) for row in rows.saved],
    )


def merge_report(outcome: dict[str, Any], strategy: str) -> MergeReport:
    """The merge's line-by-line outcome (from ``store.merge_cart``) as the shopper-facing report."""
    added: list[MergeLine] = []
    combined: list[MergeLine] = []
    capped: list[CappedLine] = []
    skipped: list[SkippedLine] = []
    for line in outcome["lines"]:
        base = {k: line[k] for k in ("productId", "variantId", "guestQuantity", "userQuantity", "quantity")}
        reason = line.get("reason")
        if not line["carried"]:
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


# --- checkout readiness -------------------------------------------------------------------------


def readiness_issues(rows: Sequence[dict[str, Any]]) -> list[ValidationIssue]:
    """What stops each line from being bought now (pure: from ``store.validate_cart`` rows)."""
    issues: list[ValidationIssue] = []
    for row in rows:
        item, available = row["item_id"], max(0, row["available"])
        alternatives = [Alternative.model_validate(a) for a in row["alternatives"]] if row.get("alternatives") else None
        if not row["active"]:
            issues.append(
                ValidationIssue(
                    item_id=item,
                    type="unavailable",
                    message="This product is no longer sold",
                    alternatives=alternatives,
                )
            )
            continue
        if available == 0:
            issues.append(
                ValidationIssue(
                    item_id=item,
                    type="out_of_stock",
                    message="Out of stock",
                    current_stock=0,
                    alternatives=alternatives,
                )
            )
        elif row["quantity"] > available:
            issues.append(
                ValidationIssue(
                    item_id=item,
                    type="insufficient_stock",
                    message=f"Only {available} available",
                    current_stock=available,
                    alternatives=alternatives,
                )
            )
        if row["quantity"] > row["max_line"]:
            issues.append(
                ValidationIssue(
                    item_id=item,
                    type="limit_exceeded",
                    message=f"At most {row['max_line']} per order",
                )
            )
        if row["unit_price"] != row["price_at_add"]:
            direction = "dropped" if row["unit_price"] < row["price_at_add"] else "risen"
            issues.append(
                ValidationIssue(
                    item_id=item,
                    type="price_changed",
                    message=f"The price has {direction} since it was added",
                    current_price=row["unit_price"],
                    previous_price=row["price_at_add"],
                )
            )
    return issues
