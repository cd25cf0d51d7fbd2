"""The hot paths' statements never need a sequential scan of ``cart`` or ``cart_item`` (issue 15's
guard for the statements rewritten on the ``sellable`` facts): each is planned with sequential
scans priced out (``enable_seqscan = off``), so a ``Seq Scan`` of either table left in a plan means
no index can serve it. Plans only: nothing is executed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from cart_common.config import Limits
from cart_common.store._compose import composed
from tests.conftest import MUG, TSHIRT, TSHIRT_M_RED

HOT_TABLES = {"cart", "cart_item"}
LIMITS = Limits(99, 100, 10_000_000).params()
OWNER_STATEMENTS: dict[str, dict[str, Any]] = {
    "cart_view.sql": {},
    "saved_view.sql": {},
    "discount_view.sql": {},
    "ensure_cart.sql": {"product_id": uuid.UUID(MUG), "ttl_days": 30, "default_currency": "USD", "expected": None},
    "touch_cart.sql": {"ttl_days": 30, "expected": 3},
    "add_item.sql": {"product_id": uuid.UUID(TSHIRT), "variant_id": uuid.UUID(TSHIRT_M_RED), "quantity": 1,
                     "attributes": Jsonb({}), "saved_id": None, "list_id": None, "list_item_id": None, "is_guest": True,
                     **LIMITS},
    "set_quantity.sql": {"item_id": uuid.uuid4(), "quantity": 2, **LIMITS},
    "switch_variant.sql": {"item_id": uuid.uuid4(), "variant_id": uuid.UUID(TSHIRT_M_RED), "quantity": None, **LIMITS},
    "save_item.sql": {"item_id": uuid.uuid4(), **LIMITS},
    "apply_discount_code.sql": {"code": "WELCOME10"},
    "sync_cart.sql": {"items": Jsonb([{"product_id": MUG, "variant_id": None, "quantity": 2}]), "list_id": None,
                      "share_id": None, "strategy": "max", "is_guest": True, **LIMITS},
    "validate_cart.sql": LIMITS,
    "bulk_change.sql": {"changes": Jsonb([{"op": "add", "product_id": MUG, "quantity": 2},
                                          {"op": "set", "item_id": str(uuid.uuid4()), "quantity": 1},
                                          {"op": "remove", "product_id": TSHIRT, "variant_id": TSHIRT_M_RED}]),
                        "atomic": True, "is_guest": True, **LIMITS},
    "reorder.sql": {"order_id": "order-1", "atomic": False, "is_guest": False, **LIMITS},
    "reserve_stock.sql": {"minutes": 15, **LIMITS},
    "release_open_checkout.sql": {"expected": 3},
    "accept_current_prices.sql": {},
    "accept_prices.sql": {"items": Jsonb([{"item_id": str(uuid.uuid4()), "unit_price": 100}])},
}  # fmt: skip


@pytest.fixture(scope="module")
def planner(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute("set enable_seqscan = off")
        yield conn


def scanned(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(node type, relation) of every node of a JSON plan."""
    yield plan["Node Type"], plan.get("Relation Name", "")
    for child in plan.get("Plans", []):
        yield from scanned(child)


def sequential_scans(conn: psycopg.Connection, query: Any, params: dict[str, Any]) -> set[str]:
    (row,) = conn.execute(psycopg.sql.SQL("explain (format json) ") + query, params).fetchall()
    plan = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return {relation for node, relation in scanned(plan[0]["Plan"]) if node == "Seq Scan" and relation in HOT_TABLES}


@pytest.mark.parametrize("kind", ["guest", "user"])
@pytest.mark.parametrize("source", list(OWNER_STATEMENTS))
def test_a_hot_statement_reads_carts_and_lines_by_index_only(
    planner: psycopg.Connection, source: str, kind: str
) -> None:
    params = {"owner": f"plan-{uuid.uuid4()}", **OWNER_STATEMENTS[source]}
    assert sequential_scans(planner, composed(source, kind), params) == set()


def test_the_merge_reads_both_carts_and_their_lines_by_index_only(planner: psycopg.Connection) -> None:
    params = {"user": f"plan-{uuid.uuid4()}", "guest": "x" * 64, "strategy": "sum", "user_ttl": 90, **LIMITS}
    for source in ("lock_merge_carts.sql", "merge_cart.sql"):
        assert sequential_scans(planner, composed(source), params) == set(), source


def test_buying_again_finds_the_order_by_its_index(planner: psycopg.Connection) -> None:
    """POST /cart/reorder looks the order up among every completed checkout: by migration 0019's
    index on the order id, never a scan of the checkout table."""
    params = {"owner": f"plan-{uuid.uuid4()}", **OWNER_STATEMENTS["reorder.sql"]}
    explain = psycopg.sql.SQL("explain (format json) ") + composed("reorder.sql", "user")
    (row,) = planner.execute(explain, params).fetchall()
    plan = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    assert ("Seq Scan", "checkout") not in set(scanned(plan[0]["Plan"]))

    def indexes(node: dict[str, Any]) -> Iterator[str]:
        yield node.get("Index Name", "")
        for child in node.get("Plans", []):
            yield from indexes(child)

    assert "checkout_order" in set(indexes(plan[0]["Plan"]))


def test_the_guard_sees_a_sequential_scan(planner: psycopg.Connection) -> None:
    """A statement no index can serve is reported (so the guard above could fail)."""
    assert sequential_scans(planner, composed("select * from cart_item where quantity > %(n)s"), {"n": 5}) == {
        "cart_item"
    }


def test_a_statement_is_composed_per_owner_kind_with_its_fragments() -> None:
    """A guest's statement names the session column, a user's the user column, in the statement
    and in the fragments it shares (touch_cart's release of the open checkout)."""
    guest = composed("touch_cart.sql", "guest").as_string(None)
    user = composed("touch_cart.sql", "user").as_string(None)
    assert '"session_id"' in guest and '"user_id"' not in guest
    assert '"user_id"' in user and '"session_id"' not in user
    assert "released as (" in guest and "{" not in guest
