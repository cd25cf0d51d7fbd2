"""Properties of the guest→user cart merge, checked with Hypothesis on real PostgreSQL against a
small model of the merge rules.

Every example builds a fresh guest cart and (or not) a fresh user cart with the data-access
functions the handlers use (``store.add_item``), over a catalog created once for this module, then
merges with ``carts.merge_guest_cart`` (the one merge behind the Cognito trigger, the lazy path and
``POST /cart/merge``) under a generated strategy and per-line maximum.

The catalog has lines whose state changes between building the carts and merging them, as it does
in a real shop between a shopper's add and their sign-in: a product and a variant deactivated, a
stock lowered below what the carts hold, a stock sold out. Those states are switched per example
(the products are this module's own, so no other test sees them).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st
from psycopg.rows import DictRow, dict_row

from cart_common import carts, store
from cart_common.config import Limits, get_settings
from cart_common.db import Database
from cart_common.models import MergeResult
from cart_common.session import Owner, hash_token, mint_token, signing_keys
from tests.conftest import one

EXAMPLES = settings(
    max_examples=35,
    deadline=None,
    # fresh_settings and monkeypatch are function-scoped: every example sets the strategy itself
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
STRATEGIES = ("sum", "max", "replace")
MAX_LINES = (99, 4)  # the configured per-line maximum: the default, and one small enough to bind
BUILD_QUANTITY_CAP = 60  # generated quantities stay below this, so two of them can pass 99


# --- the catalog --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One cart line kind: a product without variants, or one variant of a product. ``build_*`` is
    its state while the carts are built, the rest its state when they are merged."""

    name: str
    currency: str
    stock: int
    max_per_order: int | None = None
    active: bool = True
    build_stock: int | None = None  # None: the same as stock
    variant: bool = False

    @property
    def stock_while_building(self) -> int:
        return self.stock if self.build_stock is None else self.build_stock


ENTRIES = (
    Entry("mug", "USD", stock=6),
    Entry("bulk", "USD", stock=200),  # the per-line maximum binds before the stock
    Entry("shoe-40", "USD", stock=10, max_per_order=3, variant=True),  # max_per_order binds
    Entry("shoe-41", "USD", stock=2, max_per_order=3, variant=True),  # the stock binds first
    Entry("shirt-s", "USD", stock=4, variant=True),
    Entry("shirt-xxl", "USD", stock=5, active=False, variant=True),  # variant deactivated after adding
    Entry("retired", "USD", stock=5, active=False),  # product deactivated after adding
    Entry("shrunk", "USD", stock=1, build_stock=8),  # stock lowered below what carts may hold
    Entry("gone", "USD", stock=0, build_stock=5),  # sold out after adding
    Entry("euro-mug", "EUR", stock=5),
    Entry("euro-pen", "EUR", stock=2),
)
USD = [i for i, e in enumerate(ENTRIES) if e.currency == "USD"]
EUR = [i for i, e in enumerate(ENTRIES) if e.currency == "EUR"]


@dataclass(frozen=True)
class Ids:
    product_id: str
    variant_id: str | None
    # where the entry's stock and active flag live
    table: str
    row_id: str


@pytest.fixture(scope="module")
def ids(database_url: str) -> Iterator[list[Ids]]:
    """This module's products: one per entry (the shoes share a product, as do the shirts)."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        products: dict[str, str] = {}

        def product(slug: str, currency: str, stock: int, max_per_order: int | None) -> str:
            if slug not in products:
                products[slug] = one(
                    conn.execute(
                        "insert into product (name, slug, price, currency, stock, max_per_order)"
                        " values (%s, %s, 1000, %s, %s, %s) returning id::text",
                        (f"Merge property {slug}", slug, currency, stock, max_per_order),
                    )
                )["id"]
            return products[slug]

        tag = uuid.uuid4().hex[:8]
        ids = []
        for entry in ENTRIES:
            if entry.variant:
                family = entry.name.split("-")[0]
                product_id = product(f"mp-{tag}-{family}", entry.currency, 0, entry.max_per_order)
                variant_id = one(
                    conn.execute(
                        "insert into product_variant (product_id, sku, attributes, stock)"
                        " values (%s, %s, %s, %s) returning id::text",
                        (product_id, f"mp-{tag}-{entry.name}", json.dumps({"size": entry.name}), entry.stock),
                    )
                )["id"]
                ids.append(Ids(product_id, variant_id, "product_variant", variant_id))
            else:
                product_id = product(f"mp-{tag}-{entry.name}", entry.currency, entry.stock, entry.max_per_order)
                ids.append(Ids(product_id, None, "product", product_id))
        yield ids


def set_catalog_state(sql: psycopg.Connection[DictRow], ids: list[Ids], *, building: bool) -> None:
    """Switch the changing entries to their state while building carts, or when merging."""
    for entry, where in zip(ENTRIES, ids, strict=True):
        if entry.active and entry.build_stock is None:
            continue
        sql.execute(
            f"update {where.table} set active = %s, stock = %s where id = %s",  # table: our own constant
            (
                True if building else entry.active,
                entry.stock_while_building if building else entry.stock,
                where.row_id,
            ),
        )


# --- what the merge should do: the model ----------------------------------------------------------


@dataclass(frozen=True)
class CartSpec:
    currency: str
    lines: dict[int, int]  # entry index -> quantity; empty: a cart that exists with no lines


@dataclass(frozen=True)
class Scenario:
    strategy: str
    max_line: int
    user: CartSpec | None  # None: the user has no cart yet
    guest: CartSpec


def build_cap(entry: Entry, max_line: int) -> int:
    return min(entry.stock_while_building, max_line, entry.max_per_order or max_line)


def cart_specs(max_line: int) -> st.SearchStrategy[CartSpec]:
    """A cart in one currency: some of that currency's entries (maybe none: an empty cart), each
    with a quantity that an add allows while the carts are built."""

    @st.composite
    def spec(draw: st.DrawFn) -> CartSpec:
        currency = draw(st.sampled_from(["USD", "USD", "USD", "EUR"]))
        pool = USD if currency == "USD" else EUR
        chosen = draw(st.lists(st.sampled_from(pool), unique=True, max_size=len(pool)))
        lines = {
            index: draw(
                st.integers(1, min(BUILD_QUANTITY_CAP, build_cap(ENTRIES[index], max_line))), label=ENTRIES[index].name
            )
            for index in chosen
        }
        return CartSpec(currency, lines)

    return spec()


@st.composite
def scenarios(draw: st.DrawFn, *, user_cart: bool | None = None) -> Scenario:
    """``user_cart``: True, the user has a cart (maybe empty); False, they have none; None, either."""
    strategy = draw(st.sampled_from(STRATEGIES))
    max_line = draw(st.sampled_from(MAX_LINES))
    has_user_cart = draw(st.booleans()) if user_cart is None else user_cart
    user = draw(cart_specs(max_line)) if has_user_cart else None
    guest = draw(cart_specs(max_line))
    return Scenario(strategy, max_line, user, guest)


@dataclass
class Expected:
    outcome: str
    lines: dict[int, int]  # the user's cart afterwards
    added: set[tuple]  # (entry, guestQuantity, userQuantity, quantity)
    combined: set[tuple]
    capped: set[tuple]  # (entry, guestQuantity, userQuantity, quantity, requested, reason)
    skipped: set[tuple]  # (entry, guestQuantity, userQuantity, quantity, reason)
    removed: set[tuple]  # (entry, quantity)


def predict(s: Scenario) -> Expected:
    """The merge rules, written independently of the SQL."""
    if s.user is None:  # adoption: the guest cart becomes the user's as it is
        return Expected(
            "adopted", dict(s.guest.lines), {(e, g, 0, g) for e, g in s.guest.lines.items()}, set(), set(), set(), set()
        )
    user = s.user.lines
    added: set[tuple] = set()
    combined: set[tuple] = set()
    capped: set[tuple] = set()
    not_carried: dict[int, str] = {}  # entry -> reason
    carried: dict[int, int] = {}
    for e, g in s.guest.lines.items():
        entry, u, had = ENTRIES[e], user.get(e, 0), e in user
        if s.guest.currency != s.user.currency:
            not_carried[e] = "currency_mismatch"
            continue
        if not entry.active:
            not_carried[e] = "unavailable"
            continue
        line_max = min(s.max_line, entry.max_per_order or s.max_line)
        cap = max(0, min(entry.stock, line_max))
        wanted = {"sum": u + g, "max": max(u, g), "replace": g}[s.strategy]
        got = min(wanted, cap)
        if s.strategy != "replace" and had:
            got = max(got, u)  # a merge never lowers a line the user had
        if got == 0:
            not_carried[e] = "out_of_stock"
            continue
        carried[e] = got
        (combined if had else added).add((e, g, u, got))
        if got < wanted:
            if cap == 0:
                reason = "out_of_stock"
            elif line_max <= entry.stock:
                reason = "limit_exceeded"
            else:
                reason = "insufficient_stock"
            capped.add((e, g, u, got, wanted, reason))
    # a replace needs something to replace with: a guest cart whose every line is skipped leaves the
    # user's cart as it was
    if s.strategy == "replace" and carried:
        lines = carried
        removed = {(e, q) for e, q in user.items() if e not in carried}
    else:
        lines = {**user, **carried}
        removed = set()
    # a skipped line reports what the user's cart holds of it now (the user's own line, if kept)
    skipped = {(e, s.guest.lines[e], user.get(e, 0), lines.get(e, 0), r) for e, r in not_carried.items()}
    return Expected("merged", lines, added, combined, capped, skipped, removed)


# --- running a scenario ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    """The examples' own execution environment (a connection of its own)."""
    db = Database()
    yield db
    db.close()


@pytest.fixture
def merge_settings(fresh_settings, monkeypatch):
    """Set the merge strategy and per-line maximum of the next merge (settings read afresh)."""

    def use(s: Scenario) -> None:
        monkeypatch.setenv("MERGE_STRATEGY", s.strategy)
        monkeypatch.setenv("MAX_QUANTITY_PER_LINE", str(s.max_line))
        get_settings.cache_clear()
        assert (get_settings().merge_strategy, get_settings().max_quantity_per_line) == (s.strategy, s.max_line)

    return use


def new_guest() -> Owner:
    return Owner("guest", hash_token(mint_token(signing_keys())))


def new_user() -> Owner:
    return Owner("user", f"prop-{uuid.uuid4()}")


def build(db: Database, ids: list[Ids], owner: Owner, spec: CartSpec) -> None:
    settings_ = get_settings()
    change = store.Change(owner, settings_.cart_ttl_days(owner.kind))
    add = partial(
        store.add_item,
        change=change,
        attributes={},
        limits=Limits(settings_.max_quantity_per_line),
        default_currency=settings_.default_currency,
    )
    if not spec.lines:  # a cart that exists and is empty: one add, then cleared
        first = ids[USD[0] if spec.currency == "USD" else EUR[0]]
        db.run(partial(add, product_id=first.product_id, variant_id=first.variant_id, quantity=1))
        db.run(partial(store.clear_cart, change=change))
        return
    for e, quantity in spec.lines.items():
        db.run(partial(add, product_id=ids[e].product_id, variant_id=ids[e].variant_id, quantity=quantity))


def entry_of(ids: list[Ids], product_id: Any, variant_id: Any) -> int:
    key = (str(product_id), str(variant_id) if variant_id else None)
    return next(i for i, x in enumerate(ids) if (x.product_id, x.variant_id) == key)


def find_cart_row(sql: psycopg.Connection[DictRow], owner: Owner) -> dict[str, Any] | None:
    """The owner's active cart, or None when they have none."""
    column = {"user": "user_id", "guest": "session_id"}[owner.kind]
    return sql.execute(f"select * from cart where {column} = %s and status = 'active'", (owner.key,)).fetchone()


def cart_row(sql: psycopg.Connection[DictRow], owner: Owner) -> dict[str, Any]:
    """The owner's active cart: the test fails here when they have none."""
    row = find_cart_row(sql, owner)
    assert row is not None, f"{owner.kind} {owner.key[:12]} has no active cart"
    return row


def item_rows(sql: psycopg.Connection[DictRow], cart_id: Any) -> list[dict[str, Any]]:
    return sql.execute(
        "select id, product_id::text, variant_id::text, quantity, price_at_add, selected_attributes, updated_at"
        " from cart_item where cart_id = %s order by id",
        (cart_id,),
    ).fetchall()


def lines_of(sql: psycopg.Connection[DictRow], ids: list[Ids], owner: Owner) -> dict[int, int]:
    cart = find_cart_row(sql, owner)
    if cart is None:
        return {}
    return {entry_of(ids, r["product_id"], r["variant_id"]): r["quantity"] for r in item_rows(sql, cart["id"])}


@dataclass
class Run:
    scenario: Scenario
    user: Owner
    guest: Owner
    guest_cart: dict[str, Any]
    guest_items: list[dict[str, Any]]
    user_cart_before: dict[str, Any] | None
    result: MergeResult


def run_scenario(s: Scenario, ids: list[Ids], db: Database, sql: psycopg.Connection[DictRow], use_settings) -> Run:
    note(repr(s))
    use_settings(s)
    user, guest = new_user(), new_guest()
    set_catalog_state(sql, ids, building=True)
    try:
        if s.user is not None:
            build(db, ids, user, s.user)
        build(db, ids, guest, s.guest)
    finally:
        set_catalog_state(sql, ids, building=False)
    assert lines_of(sql, ids, guest) == s.guest.lines  # the carts are the ones generated
    if s.user is not None:
        assert lines_of(sql, ids, user) == s.user.lines
    guest_cart = find_cart_row(sql, guest)
    assert guest_cart is not None
    guest_items = item_rows(sql, guest_cart["id"])
    user_cart_before = find_cart_row(sql, user)
    result = carts.merge_guest_cart(user, guest, database=db)
    note(result.merge.model_dump_json())
    report = result.merge
    event(f"outcome {report.outcome}")
    for line in report.capped:
        event(f"capped {line.reason}")
    for skipped in report.skipped:
        event(f"skipped {skipped.reason}")
    if report.removed:
        event("removed")
    return Run(s, user, guest, guest_cart, guest_items, user_cart_before, result)


def reported(run: Run, ids: list[Ids]) -> dict[str, set[tuple]]:
    """The report as sets of (entry, guestQuantity, userQuantity, quantity, ...) tuples."""
    report = run.result.merge

    def key(line: Any) -> tuple:
        return (entry_of(ids, line.product_id, line.variant_id), line.guest_quantity, line.user_quantity, line.quantity)

    return {
        "added": {key(x) for x in report.added},
        "combined": {key(x) for x in report.combined},
        "capped": {(*key(x), x.requested, x.reason) for x in report.capped},
        "skipped": {(*key(x), x.reason) for x in report.skipped},
        "removed": {(entry_of(ids, x.product_id, x.variant_id), x.quantity) for x in report.removed},
    }


# --- the properties ------------------------------------------------------------------------------

MUG, RETIRED, GONE = 0, 6, 8
# Cases the rules single out, always run besides the generated ones: a replace whose every guest
# line is skipped leaves the user's cart as it was; a skipped line the user also had reports the
# quantity the user's cart still holds.
NOTHING_TO_REPLACE_WITH = Scenario("replace", 99, CartSpec("USD", {MUG: 2}), CartSpec("USD", {GONE: 3}))
SKIPPED_BUT_KEPT_BY_REPLACE = Scenario(
    "replace", 99, CartSpec("USD", {RETIRED: 2, MUG: 1}), CartSpec("USD", {RETIRED: 3, GONE: 1})
)
SKIPPED_BUT_KEPT_BY_SUM = Scenario("sum", 99, CartSpec("USD", {RETIRED: 2}), CartSpec("USD", {RETIRED: 1}))


def with_singled_out_cases(test: Any) -> Any:
    for case in (SKIPPED_BUT_KEPT_BY_SUM, SKIPPED_BUT_KEPT_BY_REPLACE, NOTHING_TO_REPLACE_WITH):
        test = example(s=case)(test)
    return test


@EXAMPLES
@given(s=scenarios(user_cart=True))
@with_singled_out_cases
def test_property_merged_quantities_follow_the_strategy_and_the_caps(
    s: Scenario, ids, database, sql, merge_settings
) -> None:
    run = run_scenario(s, ids, database, sql, merge_settings)
    expected = predict(s)
    assert s.user is not None
    assert run.result.merge.outcome == "merged"
    assert run.result.merge.strategy == s.strategy
    after = lines_of(sql, ids, run.user)
    assert after == expected.lines
    # the cart the merge returned is the cart as it now is
    assert {entry_of(ids, i.product_id, i.variant_id): i.quantity for i in run.result.cart.items} == after
    assert run.user_cart_before is not None
    assert run.result.cart.id == run.user_cart_before["id"]
    replaced = s.strategy == "replace" and bool(expected.added or expected.combined)
    for e, quantity in after.items():
        entry = ENTRIES[e]
        cap = min(entry.stock, s.max_line, entry.max_per_order or s.max_line)
        before = s.user.lines.get(e, 0)
        # never above the caps, unless it is the user's own line, already above them and kept as it
        # was (a replace that carried something keeps only the lines its guest cart did not have)
        if quantity > cap:
            assert quantity == before, (entry.name, quantity, cap)
            assert not replaced or e not in s.guest.lines, (entry.name, quantity, cap)
        assert entry.active or quantity == before, entry.name  # nothing is carried into an inactive line
    if s.strategy != "replace":
        for e, before in s.user.lines.items():
            assert after.get(e, 0) >= before, ENTRIES[e].name  # a merge never lowers a line the user had


@EXAMPLES
@given(s=scenarios())
@with_singled_out_cases
def test_property_no_guest_line_disappears_without_a_report_entry(
    s: Scenario, ids, database, sql, merge_settings
) -> None:
    run = run_scenario(s, ids, database, sql, merge_settings)
    got, expected = reported(run, ids), predict(s)
    lists = ("added", "combined", "skipped")
    for e, g in s.guest.lines.items():
        where = [name for name in lists for line in got[name] if line[0] == e]
        assert len(where) == 1, (ENTRIES[e].name, g, where)  # every guest line, in exactly one list
    assert sum(len(got[name]) for name in lists) == len(s.guest.lines)  # and nothing else
    carried = {line[:4] for line in got["added"] | got["combined"]}
    assert {line[:4] for line in got["capped"]} <= carried  # a capped line was still carried over
    # every user line that a replace dropped is reported, with the quantity it had
    if s.user is not None:
        after = lines_of(sql, ids, run.user)
        dropped = {(e, q) for e, q in s.user.lines.items() if e not in after}
        assert got["removed"] == dropped
    # and the report says exactly what the rules say
    assert run.result.merge.outcome == expected.outcome
    assert got == {
        "added": expected.added,
        "combined": expected.combined,
        "capped": expected.capped,
        "skipped": expected.skipped,
        "removed": expected.removed,
    }


@EXAMPLES
@given(s=scenarios(user_cart=True))
def test_property_merging_twice_equals_merging_once(s: Scenario, ids, database, sql, merge_settings) -> None:
    run = run_scenario(s, ids, database, sql, merge_settings)
    cart = cart_row(sql, run.user)
    items = item_rows(sql, cart["id"])
    guest_cart = one(sql.execute("select * from cart where id = %s", (run.guest_cart["id"],)))
    assert (guest_cart["status"], guest_cart["merged_into"]) == ("merged", cart["id"])
    again = carts.merge_guest_cart(run.user, run.guest, database=database)
    assert again.merge.outcome == "already_merged"
    assert (again.merge.added, again.merge.combined, again.merge.capped, again.merge.skipped, again.merge.removed) == (
        [],
        [],
        [],
        [],
        [],
    )
    after = cart_row(sql, run.user)
    assert after["id"] == cart["id"] and after["version"] == cart["version"]  # not even touched
    assert item_rows(sql, cart["id"]) == items
    assert again.cart == run.result.cart
    assert sql.execute("select * from cart where id = %s", (run.guest_cart["id"],)).fetchone() == guest_cart


@EXAMPLES
@given(s=scenarios(user_cart=False))
def test_property_adoption_keeps_the_guest_cart_and_every_line_as_it_was(
    s: Scenario, ids, database, sql, merge_settings
) -> None:
    run = run_scenario(s, ids, database, sql, merge_settings)
    report = run.result.merge
    assert report.outcome == "adopted"
    assert run.result.cart.id == run.guest_cart["id"]  # the same cart, re-keyed to the user
    adopted = one(sql.execute("select * from cart where id = %s", (run.guest_cart["id"],)))
    assert (adopted["user_id"], adopted["session_id"], adopted["status"]) == (run.user.key, None, "active")
    assert adopted["currency"] == run.guest_cart["currency"]
    assert adopted["version"] == run.guest_cart["version"] + 1
    assert adopted["expires_at"] >= run.guest_cart["expires_at"]  # a user cart lives longer, never shorter
    assert item_rows(sql, adopted["id"]) == run.guest_items  # every line as it was, even unavailable ones
    assert one(sql.execute("select count(*) as n from cart where user_id = %s", (run.user.key,)))["n"] == 1
    got = reported(run, ids)
    assert got["added"] == {(e, g, 0, g) for e, g in s.guest.lines.items()}
    assert got["combined"] == got["capped"] == got["skipped"] == got["removed"] == set()
    # a replay knows the guest cart was adopted, and leaves it as it is
    again = carts.merge_guest_cart(run.user, run.guest, database=database)
    assert again.merge.outcome == "already_merged"
    assert again.merge.added == [] and again.cart == run.result.cart
    assert item_rows(sql, adopted["id"]) == run.guest_items
    assert cart_row(sql, run.user)["version"] == adopted["version"]
