"""Properties of the cart that hold after any sequence of operations, checked with Hypothesis
through the Lambda handlers (API Gateway v2 events) on real PostgreSQL; and the pure cart builder
on generated view rows.

The catalog is created once per module (carts never reserve stock, so examples cannot disturb one
another through it); every example is a new guest with a new cart."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from psycopg.rows import DictRow

from cart_common import view
from cart_common.config import Settings
from cart_common.store import CartRows
from tests.conftest import Reply, Shopper, one

MAX_LINE = 99  # the configured per-line maximum (Settings.max_quantity_per_line)
UNKNOWN = "00000000-0000-4000-8000-0000000000ff"  # an id no product, variant or line has

EXAMPLES = settings(max_examples=40, deadline=None)  # module-scoped fixtures only: no health check to silence


# --- the catalog --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantSpec:
    price: int | None  # None: the product's price
    stock: int


@dataclass(frozen=True)
class ProductSpec:
    price: int
    stock: int = 0  # only read when the product has no variants
    max_per_order: int | None = None
    variants: tuple[VariantSpec, ...] = ()


SPECS = {
    "mug": ProductSpec(price=1250, stock=7),  # stock is reached with a few small adds
    "bulk": ProductSpec(price=3, stock=500),  # the per-line maximum (99) is reached before the stock
    "shirt": ProductSpec(price=2000, variants=(VariantSpec(None, 5), VariantSpec(2500, 3), VariantSpec(1800, 0))),
    "shoe": ProductSpec(price=9000, max_per_order=4, variants=(VariantSpec(None, 6), VariantSpec(9500, 2))),
}
MODEL_PRODUCTS = sorted(SPECS)
PRICEY = "pricey"  # no variants, plenty of stock; its price is changed by the tests that say so


@dataclass(frozen=True)
class Product:
    name: str
    id: str
    price: int
    stock: int
    max_per_order: int | None
    variants: dict[str, tuple[int, int]]  # variant id -> (price, stock), in creation order

    def price_of(self, variant_id: str | None) -> int:
        return self.variants[variant_id][0] if variant_id else self.price

    def stock_of(self, variant_id: str | None) -> int:
        return self.variants[variant_id][1] if variant_id else self.stock

    @property
    def line_max(self) -> int:
        return min(MAX_LINE, self.max_per_order or MAX_LINE)


class Catalog(dict[str, Product]):
    @property
    def by_id(self) -> dict[str, Product]:
        return {p.id: p for p in self.values()}

    @property
    def variant_ids(self) -> list[str]:
        return [v for name in MODEL_PRODUCTS for v in self[name].variants]

    def foreign_variant(self, product: Product) -> str:
        """A real, active variant of another product."""
        other = self["shoe"] if product.name != "shoe" else self["shirt"]
        return next(iter(other.variants))


@pytest.fixture(scope="module")
def catalog_sql(database_url: str) -> Iterator[psycopg.Connection[DictRow]]:
    with psycopg.connect(database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
        yield conn


@pytest.fixture(scope="module")
def catalog(catalog_sql: psycopg.Connection[DictRow]) -> Catalog:
    made = Catalog()
    for name, spec in [*SPECS.items(), (PRICEY, ProductSpec(price=100, stock=1000))]:
        slug = f"prop-{name}-{uuid.uuid4().hex[:8]}"
        product_id = one(
            catalog_sql.execute(
                "insert into product (name, slug, price, currency, stock, max_per_order)"
                " values (%s, %s, %s, 'USD', %s, %s) returning id::text",
                (f"Property {name}", slug, spec.price, spec.stock, spec.max_per_order),
            )
        )["id"]
        variants = {}
        for i, variant in enumerate(spec.variants):
            variant_id = one(
                catalog_sql.execute(
                    "insert into product_variant (product_id, sku, attributes, price, stock)"
                    " values (%s, %s, %s, %s, %s) returning id::text",
                    (product_id, f"{slug}-{i}", json.dumps({"n": i}), variant.price, variant.stock),
                )
            )["id"]
            variants[variant_id] = (spec.price if variant.price is None else variant.price, variant.stock)
        made[name] = Product(name, product_id, spec.price, spec.stock, spec.max_per_order, variants)
    return made


# --- checks every cart must pass ----------------------------------------------------------------


def assert_sums(cart: dict[str, Any]) -> None:
    """itemCount is the sum of the quantities; subtotal the sum of unitPrice * quantity."""
    items = cart["items"]
    for item in items:
        assert item["quantity"] > 0, item
        assert item["lineTotal"] == item["unitPrice"] * item["quantity"], item
    assert cart["itemCount"] == sum(i["quantity"] for i in items), cart
    assert cart["subtotal"] == sum(i["unitPrice"] * i["quantity"] for i in items), cart
    assert cart["totals"]["subtotal"] == cart["subtotal"], cart


def assert_totals_sane(totals: dict[str, int]) -> None:
    """No amount is negative and the total is the clamped sum of the parts."""
    assert all(isinstance(v, int) and v >= 0 for v in totals.values()), totals
    expected = max(0, totals["subtotal"] - totals["discount"] + totals["shipping"] + totals["tax"])
    assert totals["total"] == expected, totals


# --- random sessions through the handlers -------------------------------------------------------


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """``one_of`` with weights (``one_of`` picks uniformly among *distinct* branches, so repeating a
    branch there changes nothing)."""
    branches = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(branches) - 1).flatmap(lambda i: branches[i])


quantities = weighted((4, st.integers(1, 4)), (1, st.integers(95, 101)))  # big ones reach the 99 maximum
new_quantities = weighted((4, st.integers(0, 6)), (1, st.integers(95, 101)))
prices = st.one_of(st.integers(0, 10_000), st.integers(0, 2**63 - 1))  # bigint minor units

operations = st.lists(
    weighted(
        (4, st.tuples(st.just("add"), st.sampled_from([*MODEL_PRODUCTS, PRICEY]), st.integers(0, 3), quantities)),
        (2, st.tuples(st.just("set"), st.integers(0, 7), new_quantities)),
        (
            2,
            st.tuples(
                st.just("switch"), st.integers(0, 7), st.integers(0, 7), weighted((1, st.none()), (1, new_quantities))
            ),
        ),
        (1, st.tuples(st.just("remove"), st.integers(0, 7))),
        (1, st.tuples(st.just("clear"))),
        (1, st.tuples(st.just("reprice"), prices)),
    ),
    min_size=3,
    max_size=15,
)


@dataclass
class Step:
    op: tuple[Any, ...]
    reply: Reply
    before: dict[str, Any]  # the stored cart before the operation
    after: dict[str, Any]  # the stored cart after it (the reply's cart when it succeeded)


def play(catalog: Catalog, catalog_sql: psycopg.Connection[DictRow], ops: list[tuple[Any, ...]]) -> Iterator[Step]:
    """Apply ``ops`` in order as a new guest; lines are picked by index in the cart as it is. A
    ``reprice`` changes the price of the PRICEY product in the catalog (and only reads the cart)."""
    shopper = Shopper()
    catalog_sql.execute("update product set price = %s where id = %s", (catalog[PRICEY].price, catalog[PRICEY].id))
    before = shopper.get().json
    for op in ops:
        lines = before["items"]
        target = lines[op[1] % len(lines)] if lines and op[0] in {"set", "switch", "remove"} else None
        item_id = target["id"] if target else UNKNOWN
        if op[0] == "add":
            product = catalog[op[1]]
            choices = [*product.variants, None]
            reply = shopper.add(product.id, op[3], variant_id=choices[op[2] % len(choices)])
        elif op[0] == "set":
            reply = shopper.update(item_id, quantity=op[2])
        elif op[0] == "switch":
            own = list(catalog.by_id[target["productId"]].variants) if target else []
            candidates = [*own, *catalog.variant_ids]
            body: dict[str, Any] = {"variantId": candidates[op[2] % len(candidates)]}
            if op[3] is not None:
                body["quantity"] = op[3]
            reply = shopper.update(item_id, **body)
        elif op[0] == "remove":
            reply = shopper.remove(item_id)
        elif op[0] == "clear":
            reply = shopper.clear()
        else:
            catalog_sql.execute("update product set price = %s where id = %s", (op[1], catalog[PRICEY].id))
            reply = shopper.get()
        after = reply.json if reply.status == 200 else shopper.get().json
        yield Step(op, reply, before, after)
        before = after


@pytest.mark.timeout(120)
@EXAMPLES
@given(ops=operations)
def test_item_count_and_subtotal_are_the_sums_over_the_lines_after_any_operations(catalog, catalog_sql, ops) -> None:
    current_price = {p.id: p.price for p in catalog.values()}
    for step in play(catalog, catalog_sql, ops):
        if step.op[0] == "reprice":
            current_price[catalog[PRICEY].id] = step.op[1]
        assert step.reply.status in {200, 404, 409, 422}, step.reply
        assert_sums(step.after)
        for item in step.after["items"]:  # sums over the *current* prices
            product = catalog.by_id[item["productId"]]
            expected = current_price[product.id] if product.name == PRICEY else product.price_of(item["variantId"])
            assert item["unitPrice"] == expected, item


@pytest.mark.timeout(120)
@EXAMPLES
@given(ops=operations)
def test_totals_are_never_negative_and_total_is_the_clamped_sum_after_any_operations(catalog, catalog_sql, ops) -> None:
    for step in play(catalog, catalog_sql, ops):
        assert_totals_sane(step.after["totals"])
        assert step.after["subtotal"] >= 0 and step.after["itemCount"] >= 0


@pytest.mark.timeout(120)
@EXAMPLES
@given(ops=operations)
def test_every_successful_mutation_bumps_the_version_by_one_and_a_refused_one_changes_nothing(
    catalog, catalog_sql, ops
) -> None:
    for step in play(catalog, catalog_sql, ops):
        note(f"{step.op} -> {step.reply.status}")
        before, after = step.before["version"], step.after["version"]
        if step.op[0] == "reprice":  # a read
            assert after == before
        elif step.reply.status != 200:
            assert step.after == step.before  # version, lines and totals all as they were
        elif step.op[0] == "clear" and step.before["id"] is None:
            assert after == 0 and step.after["id"] is None  # nothing to clear: no cart is created
        else:
            assert after == before + 1
            assert step.before["id"] is None or step.after["id"] == step.before["id"]


# --- the cart builder, without a database ------------------------------------------------------

BIGINT = 2**63 - 1
INTEGER = 2**31 - 1


@st.composite
def view_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """What CART_VIEW returns: nothing (no cart), one row without a line (an empty cart), or one
    row per line; prices are bigint, quantities and stock integer, as in the schema."""
    shape = draw(st.sampled_from(["no cart", "empty", "lines"]))
    if shape == "no cart":
        return []
    head = {
        "cart_id": draw(st.uuids()),
        "version": draw(st.integers(1, INTEGER)),
        "currency": draw(st.sampled_from(["USD", "EUR", "JPY"])),
    }
    no_line = dict.fromkeys(
        [
            "item_id",
            "product_id",
            "variant_id",
            "sku",
            "name",
            "slug",
            "image_url",
            "attributes",
            "quantity",
            "price_at_add",
            "unit_price",
            "active",
            "available_stock",
            "max_per_order",
        ]
    )
    if shape == "empty":
        return [head | no_line]
    count = draw(st.integers(1, 8))
    item_ids = draw(st.lists(st.uuids(), min_size=count, max_size=count, unique=True))
    return [
        head
        | {
            "item_id": item_id,
            "product_id": draw(st.uuids()),
            "variant_id": draw(st.none() | st.uuids()),
            "sku": draw(st.none() | st.text(max_size=8)),
            "name": draw(st.text(min_size=1, max_size=8)),
            "slug": draw(st.from_regex(r"[a-z0-9]+(?:-[a-z0-9]+)*", fullmatch=True)),
            "image_url": draw(st.none() | st.just("/img/mug.webp")),
            "attributes": {},
            "quantity": draw(st.integers(1, INTEGER)),
            "price_at_add": draw(st.integers(0, BIGINT)),
            "unit_price": draw(st.integers(0, BIGINT)),
            "active": draw(st.booleans()),
            "available_stock": draw(st.integers(0, INTEGER)),
            "max_per_order": draw(st.none() | st.integers(1, INTEGER)),
        }
        for item_id in item_ids
    ]


@settings(max_examples=300, deadline=None)
@given(rows=view_rows(), max_line=st.integers(1, INTEGER))
def test_build_cart_totals_are_never_negative_and_add_up_for_any_rows(rows, max_line: int) -> None:
    cart = view.build_cart(CartRows(rows), Settings(max_quantity_per_line=max_line))
    wire = json.loads(cart.model_dump_json(by_alias=True))
    assert_totals_sane(wire["totals"])
    assert_sums(wire)
    lines = [row for row in rows if row["item_id"] is not None]
    assert [i["id"] for i in wire["items"]] == [str(row["item_id"]) for row in lines]  # view order kept
    for item, row in zip(wire["items"], lines, strict=True):
        assert item["quantity"] == row["quantity"] and item["unitPrice"] == row["unit_price"]
        assert item["priceChanged"] == (row["unit_price"] != row["price_at_add"])
        ceiling = min(max_line, row["max_per_order"] or max_line, row["available_stock"])
        assert item["maxQuantity"] == (ceiling if row["active"] else 0)
        assert item["available"] == (row["active"] and row["quantity"] <= ceiling)
    if rows:
        assert wire["id"] == str(rows[0]["cart_id"]) and wire["version"] == rows[0]["version"]
        assert wire["currency"] == rows[0]["currency"]
    else:
        assert wire["id"] is None and wire["version"] == 0 and wire["items"] == []


# --- the cart against an in-memory model -------------------------------------------------------

Key = tuple[str, str | None]  # (product id, variant id)
Outcome = tuple[int, str] | None  # a refusal's (status, code); None: it succeeds


class CartMachine(RuleBasedStateMachine):
    """One new guest per example. The model knows the stock, the per-line maximum (99, or the
    product's max_per_order when lower) and the fold rule; it predicts every refusal, and the stored
    cart must equal it after every step."""

    def __init__(self, catalog: Catalog, foreign_item: str) -> None:
        super().__init__()
        self.catalog = catalog
        self.foreign_item = foreign_item  # a line in another guest's cart
        self.shopper = Shopper()
        self.lines: dict[Key, int] = {}
        self.ids: dict[Key, str] = {}  # from the last cart seen
        self.gone: list[str] = []  # ids of lines removed, cleared or folded away
        self.cart_exists = False
        self.cart_id: str | None = None
        self.version = 0

    # -- predictions --

    def limits(self, product: Product, variant_id: str | None, total: int) -> Outcome:
        if total <= min(product.line_max, product.stock_of(variant_id)):
            return None
        if total > product.line_max:
            return 422, "limit_exceeded"
        return 409, "insufficient_stock"

    def key_of(self, item_id: str) -> Key | None:
        return next((key for key, known in self.ids.items() if known == item_id), None)

    def live_lines(self, with_variants: bool = False) -> list[str]:
        """Ids of the cart's lines in a stable order (ids are random, keys are not)."""
        keys = sorted(self.ids, key=lambda k: (k[0], k[1] or ""))
        return [self.ids[k] for k in keys if not with_variants or self.catalog.by_id[k[0]].variants]

    def dead_line(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from([*self.gone, self.foreign_item, UNKNOWN]), label="dead item")

    # -- outcomes --

    def settle(self, reply: Reply, expected: Outcome, apply: Any, *, creates: bool = False) -> None:
        event(f"{reply.status} {expected[1] if expected else 'ok'}")
        if expected is not None:
            assert reply.status == expected[0] and reply.json["code"] == expected[1], (
                f"expected {expected}, got {reply}"
            )
            return  # the invariant checks that the stored cart did not change
        assert reply.status == 200, f"expected success, got {reply}"
        if self.cart_exists or creates:
            self.version += 1
            self.cart_exists = True
        apply()
        self.check(reply.json)

    def forget(self, key: Key) -> None:
        del self.lines[key]
        self.gone.append(self.ids.pop(key))

    def check(self, cart: dict[str, Any]) -> None:
        assert_sums(cart)
        assert_totals_sane(cart["totals"])
        items = {(i["productId"], i["variantId"]): i for i in cart["items"]}
        assert len(items) == len(cart["items"]), f"two lines for one product and variant: {cart['items']}"
        assert {key: i["quantity"] for key, i in items.items()} == self.lines
        for key, item in items.items():
            assert item["unitPrice"] == self.catalog.by_id[key[0]].price_of(key[1])
            if key in self.ids:
                assert item["id"] == self.ids[key], f"line {key} changed its id"
            else:
                assert item["id"] not in self.gone and item["id"] != self.foreign_item
        self.ids = {key: i["id"] for key, i in items.items()}
        assert cart["version"] == self.version
        if not self.cart_exists:
            assert cart["id"] is None
        elif self.cart_id is None:
            self.cart_id = cart["id"]
        assert cart["id"] == self.cart_id

    @invariant()
    def the_stored_cart_equals_the_model(self) -> None:
        self.check(self.shopper.get().json)

    # -- operations (rules are picked uniformly, so the common ones are listed twice) --

    def _add(self, product: Product, variant_id: str | None, quantity: int) -> None:
        key = (product.id, variant_id)
        in_cart = self.lines.get(key, 0)
        expected = self.limits(product, variant_id, in_cart + quantity)
        reply = self.shopper.add(product.id, quantity, variant_id=variant_id)

        def apply() -> None:
            self.lines[key] = in_cart + quantity

        self.settle(reply, expected, apply, creates=True)
        if expected == (422, "limit_exceeded"):
            assert (reply.json["allowed"], reply.json["inCart"]) == (product.line_max, in_cart), reply
        elif expected == (409, "insufficient_stock"):
            assert (reply.json["maxAvailable"], reply.json["inCart"]) == (product.stock_of(variant_id), in_cart), reply

    @rule(data=st.data(), name=st.sampled_from(MODEL_PRODUCTS), quantity=quantities)
    def add(self, data: st.DataObject, name: str, quantity: int) -> None:
        product = self.catalog[name]
        variants: list[str | None] = [*product.variants]
        self._add(product, data.draw(st.sampled_from(variants or [None]), label="variant"), quantity)

    @rule(data=st.data(), name=st.sampled_from(MODEL_PRODUCTS), quantity=quantities)
    def add_more(self, data: st.DataObject, name: str, quantity: int) -> None:
        self.add(data, name, quantity)

    @precondition(lambda self: self.live_lines(with_variants=True))
    @rule(data=st.data(), quantity=quantities)
    def add_another_variant_of_a_product_in_the_cart(self, data: st.DataObject, quantity: int) -> None:
        """So that carts often hold two variants of one product, which switching may fold."""
        key = self.key_of(data.draw(st.sampled_from(self.live_lines(with_variants=True)), label="beside"))
        assert key is not None
        product = self.catalog.by_id[key[0]]
        others = [v for v in product.variants if v != key[1]]
        self._add(product, data.draw(st.sampled_from(others), label="variant"), quantity)

    @rule(data=st.data(), name=st.sampled_from(MODEL_PRODUCTS), quantity=quantities)
    def add_with_a_wrong_product_or_variant(self, data: st.DataObject, name: str, quantity: int) -> None:
        product = self.catalog[name]
        wrong = [
            (UNKNOWN, None, (404, "product_not_found")),
            (product.id, self.catalog.foreign_variant(product), (404, "product_not_found")),
        ]
        if product.variants:
            wrong.append((product.id, None, (422, "variant_required")))
        product_id, variant_id, expected = data.draw(st.sampled_from(wrong), label="wrong")
        self.settle(self.shopper.add(product_id, quantity, variant_id=variant_id), expected, None)

    @precondition(lambda self: self.lines)
    @rule(data=st.data(), quantity=new_quantities)
    def set_quantity(self, data: st.DataObject, quantity: int) -> None:
        item_id = data.draw(st.sampled_from(self.live_lines()), label="item")
        key = self.key_of(item_id)
        assert key is not None
        reply = self.shopper.update(item_id, quantity=quantity)
        if quantity == 0:
            self.settle(reply, None, lambda: self.forget(key))
        else:
            expected = self.limits(self.catalog.by_id[key[0]], key[1], quantity)
            self.settle(reply, expected, lambda: self.lines.__setitem__(key, quantity))

    @precondition(lambda self: self.live_lines(with_variants=True))
    @rule(data=st.data(), quantity=weighted((2, st.none()), (1, new_quantities)))
    def switch_variant(self, data: st.DataObject, quantity: int | None) -> None:
        item_id = data.draw(st.sampled_from(self.live_lines(with_variants=True)), label="item")
        key = self.key_of(item_id)
        assert key is not None
        product = self.catalog.by_id[key[0]]
        in_cart = [
            v for (p, v) in sorted(self.lines, key=lambda k: (k[0], k[1] or "")) if p == product.id and v != key[1]
        ]
        variant_id = data.draw(
            weighted(
                (3 if in_cart else 0, st.sampled_from(in_cart or [None])),  # a fold
                (3, st.sampled_from(list(product.variants))),
                (1, st.just(self.catalog.foreign_variant(product))),
            ),
            label="to variant",
        )
        body: dict[str, Any] = {"variantId": variant_id} | ({} if quantity is None else {"quantity": quantity})
        reply = self.shopper.update(item_id, **body)
        if quantity == 0:  # quantity 0 removes the line, whatever the variant
            self.settle(reply, None, lambda: self.forget(key))
            return
        if variant_id not in product.variants:
            self.settle(reply, (404, "product_not_found"), None)
            return
        target: Key = (product.id, variant_id)
        fold = target != key and target in self.lines
        total = (self.lines[key] if quantity is None else quantity) + (self.lines[target] if fold else 0)
        event(f"switch {'fold' if fold else 'same' if target == key else 'move'}")

        def apply() -> None:
            if fold:  # the other line takes the sum and keeps its id; this one goes
                self.forget(key)
                self.lines[target] = total
            else:  # this line moves, keeping its id
                del self.lines[key]
                self.lines[target] = total
                self.ids[target] = self.ids.pop(key)

        self.settle(reply, self.limits(product, variant_id, total), apply)

    @precondition(lambda self: self.live_lines(with_variants=True))
    @rule(data=st.data(), quantity=weighted((2, st.none()), (1, new_quantities)))
    def switch_variant_again(self, data: st.DataObject, quantity: int | None) -> None:
        self.switch_variant(data, quantity)

    @precondition(lambda self: self.lines)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        item_id = data.draw(st.sampled_from(self.live_lines()), label="item")
        key = self.key_of(item_id)
        assert key is not None
        self.settle(self.shopper.remove(item_id), None, lambda: self.forget(key))

    @precondition(lambda self: self.lines or self.gone)
    @rule(data=st.data(), how=st.sampled_from(["quantity", "variant", "remove"]))
    def change_a_line_that_is_not_in_this_cart(self, data: st.DataObject, how: str) -> None:
        """A removed, cleared or folded line, another guest's line, or an id that never existed."""
        item_id = self.dead_line(data)
        if how == "quantity":
            reply = self.shopper.update(item_id, quantity=1)
        elif how == "variant":
            reply = self.shopper.update(item_id, variantId=next(iter(self.catalog["shirt"].variants)))
        else:
            reply = self.shopper.remove(item_id)
        self.settle(reply, (404, "item_not_found"), None)

    @rule()
    def clear(self) -> None:
        def apply() -> None:
            for key in list(self.lines):
                self.forget(key)

        self.settle(self.shopper.clear(), None, apply)


@pytest.fixture(scope="module")
def foreign_cart(catalog: Catalog) -> tuple[Shopper, str]:
    """Another guest's cart with one line, whose id the machine tries to change."""
    other = Shopper()
    return other, other.add(catalog["mug"].id, 1).json["items"][0]["id"]


@pytest.mark.timeout(180)
def test_any_sequence_of_operations_leaves_the_cart_equal_to_the_model(catalog, foreign_cart) -> None:
    other, foreign_item = foreign_cart
    run_state_machine_as_test(
        # hypothesis takes any factory of a machine (its docstring); its annotation says a class.
        lambda: CartMachine(catalog, foreign_item),  # type: ignore[arg-type]
        settings=settings(max_examples=60, stateful_step_count=30, deadline=None),
    )
    # And another guest's line was never touched
    (item,) = other.get().json["items"]
    assert item["id"] == foreign_item and item["quantity"] == 1
