"""Issue 21, the admin API and the public catalog: who may call the admin routes (settled before any
validation), what an admin change does to the next cart read, the discount code's lifecycle, the
versions an admin edit leaves for the catalog events, the operations log, the catalog route's cache
headers and 304, and hostile input that never reaches a 500."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import DictRow

from cart_common import oplog
from local import stack
from tests.conftest import MUG, Lines, Reply, Shopper, User, http_event, one, routes
from tests.integration.test_cart_api import assert_problem

ADMIN_ROUTES = sorted(
    (method, path) for method, path in routes() if path.startswith("/admin/") and path != "/admin/carts/abandoned"
)
PATH_VALUES = {"productId": "not-a-uuid", "variantId": "not-a-uuid", "code": "x" * 300, "userId": "u" * 200}
# A read with no body and no path parameter is given a query it must refuse (for an admin only).
BAD_QUERIES = {"/admin/analytics/carts": {"from": "not-a-date"}}


def call(method: str, path: str, *, bearer: str | None = None, body: Any = None, raw: str | None = None,
         headers: dict[str, str] | None = None, query: dict[str, str] | None = None, **params: str) -> Reply:  # fmt: skip
    """One route through its handler, as API Gateway sends it."""
    route = routes()[(method, path)]
    sent = {**({"authorization": f"Bearer {bearer}"} if bearer else {}), **(headers or {})}
    event = http_event(method, path, path_params=params or None, body=body, raw_body=raw, headers=sent)
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = urlencode(query)
    return Reply(stack.load_function(route)(event, stack.LambdaContext(route.function, 10)))


def new_product(admin: User, **fields: Any) -> Reply:
    slug = f"adm-{uuid.uuid4().hex[:10]}"
    body = {"name": f"Admin {slug}", "slug": slug, "price": 1500, "currency": "USD", "stock": 8, **fields}
    return call("POST", "/admin/products", bearer=admin.access_token, body=body)


def catalog(slug: str, **headers: str) -> Reply:
    return call("GET", "/catalog/products/{slug}", headers=headers, slug=slug)


# --- who may call: before anything is validated ------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_routes_settle_identity_before_validating_anything(
    method: str, path: str, user: User, admin: User
) -> None:
    params: dict[str, Any] = {name: PATH_VALUES[name] for name in PATH_VALUES if "{" + name + "}" in path}
    guest = Shopper()
    guest.get()
    bad: dict[str, Any] = {"raw": "{not json"} if method in ("POST", "PATCH", "PUT") else {}
    if path in BAD_QUERIES:
        bad["query"] = BAD_QUERIES[path]
    assert bad or params, f"{method} {path}: give it something invalid to send (BAD_QUERIES)"
    assert_problem(call(method, path, **bad, **params), 401, "authentication_required")
    assert_problem(call(method, path, headers={"x-cart-session": guest.session_token}, **bad, **params),
                   401, "authentication_required")  # fmt: skip
    assert_problem(call(method, path, bearer=user.access_token, **bad, **params), 403, "forbidden")
    refused = call(method, path, bearer=admin.access_token, **bad, **params)
    assert refused.status in (400, 422) and refused.json["code"] in ("malformed_json", "validation_failed"), refused
    assert not refused.cookies  # an admin route never starts a guest session


# --- products and variants ---------------------------------------------------------------------------


def test_a_created_product_is_in_the_catalog_and_its_price_change_shows_on_the_next_cart_read(
    admin: User, shopper: Shopper
) -> None:
    created = new_product(admin)
    assert created.status == 201, created
    product = created.json
    assert created.headers["ETag"] == f'"{product["version"]}"' and product["version"] > 1_600_000_000_000
    shown = catalog(product["slug"])
    assert shown.status == 200 and shown.json["availableStock"] == 8 and shown.json["price"] == 1500
    item = shopper.add(product["id"], 2).json["items"][0]
    assert item["unitPrice"] == 1500 and item["priceChanged"] is False

    changed = call("PATCH", "/admin/products/{productId}", bearer=admin.access_token, body={"price": 1800},
                   headers={"If-Match": created.headers["ETag"]}, productId=product["id"])  # fmt: skip
    assert changed.status == 200 and changed.json["price"] == 1800, changed
    assert changed.json["version"] > product["version"]
    line = shopper.get().json["items"][0]
    assert line["unitPrice"] == 1800 and line["priceAtAdd"] == 1500 and line["priceChanged"] is True


def test_a_stale_if_match_changes_nothing(admin: User, sql: psycopg.Connection[DictRow]) -> None:
    product = new_product(admin).json
    path = "/admin/products/{productId}"
    first = call("PATCH", path, bearer=admin.access_token, body={"name": "First"}, productId=product["id"])
    stale = call("PATCH", path, bearer=admin.access_token, body={"name": "Second"},
                 headers={"If-Match": f'"{product["version"]}"'}, productId=product["id"])  # fmt: skip
    assert assert_problem(stale, 409, "product_changed")["currentVersion"] == first.json["version"]
    assert one(sql.execute("select name from product where id = %s", (product["id"],)))["name"] == "First"


def test_taken_slugs_and_skus_are_409_and_unknown_ids_404(admin: User) -> None:
    product = new_product(admin, variants=[{"sku": f"SKU-{uuid.uuid4().hex[:8]}", "stock": 2}]).json
    sku = product["variants"][0]["sku"]
    assert assert_problem(new_product(admin, slug=product["slug"]), 409, "slug_taken")["slug"] == product["slug"]
    assert assert_problem(new_product(admin, variants=[{"sku": sku}]), 409, "sku_taken")["sku"] == sku
    other = new_product(admin).json
    renamed = call("PATCH", "/admin/products/{productId}", bearer=admin.access_token,
                   body={"slug": product["slug"]}, productId=other["id"])  # fmt: skip
    assert_problem(renamed, 409, "slug_taken")
    missing = str(uuid.uuid4())
    assert_problem(call("PATCH", "/admin/products/{productId}", bearer=admin.access_token, body={"name": "x"},
                        productId=missing), 404, "product_not_found")  # fmt: skip
    assert_problem(call("PUT", "/admin/variants/{variantId}/stock", bearer=admin.access_token, body={"stock": 1},
                        variantId=missing), 404, "variant_not_found")  # fmt: skip
    assert_problem(call("PATCH", "/admin/products/{productId}", bearer=admin.access_token, body={"name": None},
                        productId=other["id"]), 422, "validation_failed")  # fmt: skip
    assert_problem(call("PATCH", "/admin/products/{productId}", bearer=admin.access_token, body={"currency": "EUR"},
                        productId=other["id"]), 422, "validation_failed")  # fmt: skip


def test_variants_and_stock_reach_the_catalog_and_validate(admin: User, user: User) -> None:
    product = new_product(admin, stock=0).json
    path = "/admin/products/{productId}/variants"
    made = call("POST", path, bearer=admin.access_token, productId=product["id"],
                body={"sku": f"V-{uuid.uuid4().hex[:8]}", "attributes": {"size": "M"}, "price": 2100, "stock": 3})  # fmt: skip
    assert made.status == 201, made
    variant = made.json["variants"][0]
    shown = catalog(product["slug"]).json
    assert shown["variants"] == [{"id": variant["id"], "sku": variant["sku"], "attributes": {"size": "M"},
                                  "price": 2100, "availableStock": 3}]  # fmt: skip
    assert shown["availableStock"] == 3
    # the product's own stock is its variants' now
    assert_problem(call("PUT", "/admin/products/{productId}/stock", bearer=admin.access_token, body={"stock": 5},
                        productId=product["id"]), 422, "variant_required")  # fmt: skip

    shopper = Shopper(bearer=user.access_token)
    assert shopper.add(product["id"], 2, variant["id"]).status == 200
    emptied = call("PUT", "/admin/variants/{variantId}/stock", bearer=admin.access_token, body={"stock": 0},
                   variantId=variant["id"])  # fmt: skip
    assert emptied.status == 200 and emptied.json["variants"][0]["stock"] == 0
    validation = shopper.call("POST", "/cart/validate", body={}).json
    assert validation["valid"] is False and validation["issues"][0]["type"] == "out_of_stock"
    assert catalog(product["slug"]).json["variants"][0]["availableStock"] == 0

    retired = call("PATCH", "/admin/variants/{variantId}", bearer=admin.access_token, body={"active": False},
                   variantId=variant["id"])  # fmt: skip
    assert retired.status == 200 and retired.json["variants"][0]["active"] is False
    assert catalog(product["slug"]).json["variants"] == []
    gone = call("PATCH", "/admin/products/{productId}", bearer=admin.access_token, body={"active": False},
                productId=product["id"])  # fmt: skip
    assert gone.status == 200
    assert_problem(catalog(product["slug"]), 404, "product_not_found")


def test_an_older_catalog_event_cannot_undo_an_admins_newer_edit(admin: User, sql: psycopg.Connection[DictRow]) -> None:
    """Migration 0016's rule, through migration 0015's own writer: the edit's version is "now" in
    epoch milliseconds, so a price event stamped before it changes nothing, one after it applies."""
    product = new_product(admin).json
    before = product["version"] - 60_000  # a minute before the admin's edit
    edited = call("PATCH", "/admin/products/{productId}", bearer=admin.access_token, body={"price": 999},
                  productId=product["id"]).json  # fmt: skip
    stale = one(sql.execute("select catalog_set_price(%s, null, %s, 111, 'USD') as outcome", (product["id"], before)))
    assert stale["outcome"] == "unchanged"
    assert one(sql.execute("select price from product where id = %s", (product["id"],)))["price"] == 999
    newer = one(sql.execute("select catalog_set_price(%s, null, %s, 222, 'USD') as outcome",
                            (product["id"], edited["version"] + 1)))  # fmt: skip
    assert newer["outcome"] == "applied"


def test_every_admin_change_is_one_round_trip_and_logged_with_the_admins_hashed_id(
    admin: User,
    logged: Lines,
) -> None:
    product = new_product(admin).json
    change = logged.of("admin_change")[-1]
    operation = logged.operation()
    assert change["action"] == "product_created" and change["product_id"] == product["id"]
    assert operation["owner"] == oplog.owner_id("user", admin.sub) and operation["round_trips"] == 1
    assert admin.sub not in json.dumps(logged.lines) and admin.email not in json.dumps(logged.lines)


# --- discount codes -----------------------------------------------------------------------------------


def test_a_discount_code_is_created_applies_and_once_retired_applies_no_more(admin: User, shopper: Shopper) -> None:
    code = f"Spring{uuid.uuid4().hex[:6]}"
    made = call("POST", "/admin/discount-codes", bearer=admin.access_token,
                body={"code": code, "kind": "percent", "value": 15, "minSubtotal": 1000})  # fmt: skip
    assert made.status == 200 and made.json["code"] == code.upper() and made.json["active"] is True, made
    again = call("POST", "/admin/discount-codes", bearer=admin.access_token,
                 body={"code": code.lower(), "kind": "percent", "value": 5})  # fmt: skip
    assert_problem(again, 409, "discount_code_exists")

    shopper.add(MUG, 2)  # 2 x 1250
    applied = shopper.call("POST", "/cart/discount-codes", body={"code": code.lower()}).json
    (discount,) = applied["discountCodes"]
    assert discount["applicable"] is True and discount["amount"] == 2500 * 15 // 100

    retired = call("DELETE", "/admin/discount-codes/{code}", bearer=admin.access_token, code=code)
    assert retired.status == 200 and retired.json["active"] is False
    (shown,) = shopper.get().json["discountCodes"]
    assert shown["applicable"] is False and shown["reason"] == "inactive" and shown["amount"] == 0
    other = Shopper()
    other.add(MUG, 2)
    refused = assert_problem(
        other.call("POST", "/cart/discount-codes", body={"code": code}), 422, "discount_code_invalid"
    )
    assert refused["reason"] == "inactive"
    assert_problem(call("DELETE", "/admin/discount-codes/{code}", bearer=admin.access_token, code="NOPE-" + code),
                   404, "discount_code_not_found")  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        {"code": "X1", "kind": "percent", "value": 101},
        {"code": "X2", "kind": "fixed", "value": 500},
        {"code": "X3", "kind": "percent", "value": 5, "currency": "USD"},
        {
            "code": "X4",
            "kind": "percent",
            "value": 5,
            "startsAt": "2030-01-02T00:00:00Z",
            "endsAt": "2030-01-01T00:00:00Z",
        },
        {"code": "bad code", "kind": "percent", "value": 5},
        {"code": "X5", "kind": "percent", "value": 5, "usageLimit": 0},
    ],
)
def test_an_inconsistent_discount_code_is_422(admin: User, body: dict[str, Any]) -> None:
    assert_problem(
        call("POST", "/admin/discount-codes", bearer=admin.access_token, body=body), 422, "validation_failed"
    )


# --- the public catalog ---------------------------------------------------------------------------------


def test_the_catalog_is_cacheable_with_an_etag_and_answers_304(admin: User) -> None:
    product = new_product(admin).json
    first = catalog(product["slug"])
    assert first.status == 200 and not first.cookies and "X-Cart-Session" not in first.headers
    assert first.headers["Cache-Control"] == "public, max-age=30, stale-while-revalidate=300"
    etag = first.headers["ETag"]
    unchanged = catalog(product["slug"], **{"If-None-Match": f'W/{etag}, "other"'})
    assert unchanged.status == 304 and unchanged.json is None and unchanged.headers["ETag"] == etag
    call(
        "PUT",
        "/admin/products/{productId}/stock",
        bearer=admin.access_token,
        body={"stock": 2},
        productId=product["id"],
    )
    changed = catalog(product["slug"], **{"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag and changed.json["availableStock"] == 2


def test_the_catalog_pages_by_cursor_through_every_active_product(sql: psycopg.Connection[DictRow]) -> None:
    seen: list[str] = []
    query: dict[str, str] = {"limit": "3"}
    while True:
        page = call("GET", "/catalog/products", query=query)
        assert page.status == 200 and page.headers["ETag"] and len(page.json["products"]) <= 3
        seen += [p["slug"] for p in page.json["products"]]
        if page.json["nextCursor"] is None:
            break
        query = {"limit": "3", "cursor": page.json["nextCursor"]}
    active = [row["slug"] for row in sql.execute("select slug from product where active order by slug")]
    assert seen == active and "retired-cap" not in seen


def test_available_stock_is_what_other_shoppers_checkouts_leave(user: User, make_product, sql) -> None:
    product = make_product(stock=5)
    buyer = Shopper(bearer=user.access_token)
    buyer.add(product["id"], 3)
    assert buyer.call("POST", "/cart/checkout", body={}).status == 200
    slug = one(sql.execute("select slug from product where id = %s", (product["id"],)))["slug"]
    assert catalog(slug).json["availableStock"] == 2


# --- hostile input: never a 500 ------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "name": JSON | st.text(max_size=400), "slug": JSON | st.from_regex(r"[a-z0-9-]{0,130}", fullmatch=True),
        "price": JSON | st.integers(-10, 2**63), "currency": JSON | st.sampled_from(["USD", "usd", "EURO"]),
        "stock": JSON | st.integers(-10, 2**40), "imageUrl": JSON, "maxPerOrder": JSON, "active": JSON,
        "variants": st.lists(st.fixed_dictionaries({"sku": st.text(max_size=80)}, optional={"price": JSON,
                             "attributes": JSON, "stock": JSON}), max_size=3),
    },
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=FIELDS, product_id=st.uuids().map(str) | st.text(max_size=60))
def test_hostile_admin_input_gets_a_problem_never_a_500(admin: User, body: dict[str, Any], product_id: str) -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/admin/products", {}),
        ("PATCH", "/admin/products/{productId}", {"productId": product_id or "x"}),
    ]
    for method, path, params in calls:
        reply = call(method, path, bearer=admin.access_token, body=body, **params)
        assert reply.status in (200, 201, 400, 404, 409, 422), reply
        if reply.status >= 400:
            assert reply.content_type == "application/problem+json" and reply.json["code"]


@settings(max_examples=40, deadline=None)
@given(slug=st.text(min_size=1, max_size=300), cursor=st.text(max_size=300), limit=st.text(max_size=12))
def test_hostile_catalog_input_gets_a_problem_never_a_500(slug: str, cursor: str, limit: str) -> None:
    reply = call("GET", "/catalog/products/{slug}", slug=slug.replace("/", "_"))
    assert reply.status in (200, 404, 422), reply
    page = call("GET", "/catalog/products", query={"cursor": cursor, "limit": limit})
    assert page.status in (200, 422), page
