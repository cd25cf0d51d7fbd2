"""The catalog as the admin API writes it and the public catalog route reads it (issue 21).

Every admin change is one round trip: the change (which checks its own rules under the product's
row lock and stops with ``raise_problem``), then the product as it now is. A slug or SKU taken by
another product is the unique index's error, answered as ``slug_taken`` / ``sku_taken``: the index
is the one place that knows, even for two admins racing for the same slug.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from cart_common.db import pipeline
from cart_common.errors import Problem, SkuTaken, SlugTaken
from cart_common.store._compose import Row, plain

_KEY = re.compile(r"^Key \((?:slug|sku)\)=\((?P<value>.*)\) already exists\.?$", re.DOTALL)


def _unique(exc: psycopg.errors.UniqueViolation) -> Problem:
    """The taken slug or SKU, as the index's message names it."""
    match = _KEY.match(exc.diag.message_detail or "")
    value = match.group("value") if match else None
    if exc.diag.constraint_name == "product_slug_key":
        return SlugTaken(slug=value)
    if exc.diag.constraint_name == "product_variant_sku_key":
        return SkuTaken(sku=value)
    raise exc


def _change(conn: psycopg.Connection, source: str, params: dict[str, Any], *, product_id: UUID | None = None,
            variant_id: UUID | None = None) -> Row:  # fmt: skip
    """``source`` with ``params``, then the product (by ``product_id``, or the one ``variant_id``
    belongs to): one round trip."""
    view = plain("admin_product_view.sql", product_id=product_id, variant_id=variant_id)
    wire = {k: Jsonb(v) if isinstance(v, dict | list) else v for k, v in params.items()}
    try:
        _, rows = pipeline(conn, [plain(source, **wire), view])
    except psycopg.errors.UniqueViolation as exc:
        raise _unique(exc) from None
    return rows[0]


def create_product(conn: psycopg.Connection, product: dict[str, Any]) -> Row:
    product_id = uuid.uuid4()
    return _change(conn, "admin_create_product.sql", {**product, "product_id": product_id}, product_id=product_id)


def update_product(conn: psycopg.Connection, product_id: UUID, patch: dict[str, Any], expected: int | None) -> Row:
    params = {"product_id": product_id, "patch": patch, "expected": expected}
    return _change(conn, "admin_update_product.sql", params, product_id=product_id)


def create_variant(conn: psycopg.Connection, product_id: UUID, variant: dict[str, Any], expected: int | None) -> Row:
    params = {**variant, "product_id": product_id, "expected": expected}
    return _change(conn, "admin_create_variant.sql", params, product_id=product_id)


def update_variant(conn: psycopg.Connection, variant_id: UUID, patch: dict[str, Any], expected: int | None) -> Row:
    params = {"variant_id": variant_id, "patch": patch, "expected": expected}
    return _change(conn, "admin_update_variant.sql", params, variant_id=variant_id)


def create_discount_code(conn: psycopg.Connection, code: dict[str, Any]) -> Row:
    return pipeline(conn, [plain("admin_create_discount_code.sql", **code)])[0][0]


def retire_discount_code(conn: psycopg.Connection, code: str) -> Row:
    return pipeline(conn, [plain("admin_retire_discount_code.sql", code=code)])[0][0]


def catalog_products(conn: psycopg.Connection, *, after: str | None, limit: int, slug: str | None = None) -> list[Row]:
    """Active products by slug after ``after`` (at most ``limit``), or the one with ``slug``."""
    return pipeline(conn, [plain("catalog_products.sql", after=after, limit=limit, slug=slug)], reads_only=True)[0]
