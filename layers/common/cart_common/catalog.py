"""The catalog's admin API (``/admin/products``, ``/admin/variants``, ``/admin/discount-codes``;
Cognito group ``admin``) and its public read (``/catalog/products``): docs/admin.md, docs/api.md.

Admin changes answer the product as it now is, with its version as ``ETag``; ``If-Match`` with that
version makes a change conditional (409 ``product_changed`` when another change came first). Each
change is one round trip and one ``admin_change`` line of the operations log, whose owner is the
admin. The public read answers ``Cache-Control`` and a strong ``ETag`` over the body, and 304 to an
``If-None-Match`` that names it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC
from functools import partial
from typing import Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response

from cart_common import oplog
from cart_common.db import get_database
from cart_common.errors import ProductNotFound
from cart_common.models import (
    AdminDiscountCode,
    AdminProduct,
    CatalogPage,
    CatalogProduct,
    NewDiscountCode,
    NewProduct,
    NewVariant,
    ProductChanges,
    VariantChanges,
)
from cart_common.store import catalog as store

# A product's version as ETag sends it; the resolver has already refused a malformed If-Match (400).
_VERSION = re.compile(r'(?:W/)?"?([0-9]{1,18})"?')

# The public read: a CDN or the storefront's cache may keep it 30 s and serve it stale for 5 minutes
# while it revalidates. What it shows is advisory: the cart re-checks price and stock on every add,
# read and checkout (priceChanged, insufficient_stock), so a stale "Only 3 left" costs a refusal at
# worst, while the catalog's read stays off the database for most page views.
CACHE_CONTROL = "public, max-age=30, stale-while-revalidate=300"


def expected_version(headers: dict[str, str]) -> int | None:
    value = next((v for k, v in headers.items() if k.lower() == "if-match"), None)
    match = _VERSION.fullmatch(value.strip()) if value is not None else None
    return int(match.group(1)) if match else None


def _answer(row: dict[str, Any], status: int = 200) -> Response[AdminProduct]:
    product = AdminProduct.model_validate(row)
    headers = {"ETag": f'"{product.version}"', "Cache-Control": "no-store"}
    return Response(status_code=status, content_type="application/json", body=product, headers=headers)


def create_product(body: NewProduct) -> Response[AdminProduct]:
    row = get_database().run(partial(store.create_product, product=body.model_dump(mode="json")))
    oplog.admin_change("product_created", product_id=row["id"], version=row["version"], fields=body.model_fields_set)
    return _answer(row, 201)


def update_product(product_id: UUID, body: ProductChanges, headers: dict[str, str]) -> Response[AdminProduct]:
    changes = body.changes()
    row = get_database().run(
        partial(store.update_product, product_id=product_id, patch=changes, expected=expected_version(headers))
    )
    oplog.admin_change("product_updated", product_id=product_id, version=row["version"], fields=changes)
    return _answer(row)


def set_product_stock(product_id: UUID, stock: int, headers: dict[str, str]) -> Response[AdminProduct]:
    row = get_database().run(
        partial(store.update_product, product_id=product_id, patch={"stock": stock}, expected=expected_version(headers))
    )
    oplog.admin_change("product_stock_set", product_id=product_id, version=row["version"], fields=["stock"])
    return _answer(row)


def create_variant(product_id: UUID, body: NewVariant, headers: dict[str, str]) -> Response[AdminProduct]:
    variant = body.model_dump(mode="json")
    row = get_database().run(
        partial(store.create_variant, product_id=product_id, variant=variant, expected=expected_version(headers))
    )
    oplog.admin_change("variant_created", product_id=product_id, version=row["version"], fields=body.model_fields_set)
    return _answer(row, 201)


def update_variant(
    variant_id: UUID, patch: dict[str, Any], headers: dict[str, str], action: str
) -> Response[AdminProduct]:
    row = get_database().run(
        partial(store.update_variant, variant_id=variant_id, patch=patch, expected=expected_version(headers))
    )
    oplog.admin_change(action, product_id=row["id"], variant_id=variant_id, version=row["version"], fields=patch)
    return _answer(row)


def change_variant(variant_id: UUID, body: VariantChanges, headers: dict[str, str]) -> Response[AdminProduct]:
    return update_variant(variant_id, body.changes(), headers, "variant_updated")


def set_variant_stock(variant_id: UUID, stock: int, headers: dict[str, str]) -> Response[AdminProduct]:
    return update_variant(variant_id, {"stock": stock}, headers, "variant_stock_set")


def create_discount_code(body: NewDiscountCode) -> AdminDiscountCode:
    code = body.model_dump()
    for moment in ("starts_at", "ends_at"):  # no offset: UTC, as the admin listing reads ``since``
        if code[moment] is not None and code[moment].tzinfo is None:
            code[moment] = code[moment].replace(tzinfo=UTC)
    row = get_database().run(partial(store.create_discount_code, code=code))
    oplog.admin_change("discount_code_created", discount_code=row["code"], fields=body.model_fields_set)
    return AdminDiscountCode.model_validate(row)


def retire_discount_code(code: str) -> AdminDiscountCode:
    row = get_database().run(partial(store.retire_discount_code, code=code))
    oplog.admin_change("discount_code_retired", discount_code=row["code"], fields=["active"])
    return AdminDiscountCode.model_validate(row)


# --- the public read ----------------------------------------------------------------------------------


def _cached(payload: str, headers: dict[str, str], cache_control: str = CACHE_CONTROL) -> Response[str | None]:
    """``payload`` with its ETag and Cache-Control, or 304 when If-None-Match names that ETag (the
    shared-cart read, cart_common/shares.py, too)."""
    etag = f'"{hashlib.sha256(payload.encode()).hexdigest()[:32]}"'
    cache = {"ETag": etag, "Cache-Control": cache_control}
    sent = next((v for k, v in headers.items() if k.lower() == "if-none-match"), None)
    if sent is not None and (
        sent.strip() == "*" or etag in {tag.strip().removeprefix("W/") for tag in sent.split(",")}
    ):
        return Response(status_code=304, body=None, headers=cache)
    return Response(status_code=200, content_type="application/json", body=payload, headers=cache)


def list_products(*, cursor: str | None, limit: int, headers: dict[str, str]) -> Response[str | None]:
    rows = get_database().run(partial(store.catalog_products, after=cursor, limit=limit + 1))
    products = [CatalogProduct.model_validate(row) for row in rows[:limit]]
    page = CatalogPage(products=products, next_cursor=products[-1].slug if len(rows) > limit else None)
    return _cached(page.model_dump_json(by_alias=True), headers)


def get_product(slug: str, headers: dict[str, str]) -> Response[str | None]:
    rows = get_database().run(partial(store.catalog_products, after=None, limit=1, slug=slug))
    if not rows:
        raise ProductNotFound(f"No product is sold at {slug!r}", slug=slug)
    return _cached(CatalogProduct.model_validate(rows[0]).model_dump_json(by_alias=True), headers)
