"""The merchant's cart analytics page (/admin/analytics): an administrator signs in and reads the
report, charts and numbers, on a phone; the figures are the API's; a shopper who is no administrator
is told they may not see it, and a visitor is sent to sign in."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from cart_common import analytics
from cart_common.db import Database
from tests.browser.conftest import STOREFRONT, Stack
from tests.browser.test_accessibility import axe_violations, horizontal_overflow
from tests.browser.test_order_and_recovery import get_json
from tests.browser.test_sign_in import PASSWORD, sign_in
from tests.browser.test_storefront import add_from_product_page, line, settled
from tests.conftest import User
from tests.integration.test_analytics import History, insert_history, remove_history

PAGE = "/admin/analytics"
CHARTS = 4  # carts over time, refusals, most abandoned, most removed


def roll_up(days: list[date], today: date) -> None:
    """What the hourly sweep does for each day (the application role, through the proxy)."""
    database = Database()
    try:
        for day in days:
            database.run(partial(analytics.roll_up_day, day=day, live=day == today, active_hours=24))
    finally:
        database.close()


def roll_up_today() -> None:
    today = datetime.now(UTC).date()
    roll_up([today], today)


@pytest.fixture
def recent_history(site: Stack, own_product: Callable[..., dict[str, Any]]) -> Iterator[History]:
    """The 29 days before today as a shop lives them (tests/integration/test_analytics.py's
    ``insert_history``: carts, marks, orders, removals over eight products), rolled up; removed after."""
    today = datetime.now(UTC).date()
    products = [own_product(name=name)["id"] for name in ("Lamp", "Mug", "Poster", "Shirt", "Cap", "Bag", "Pen", "Map")]
    with psycopg.connect(site.database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as sql:
        made = insert_history(sql, products, [today - timedelta(days=i) for i in range(29, 0, -1)], seed=7)
        roll_up(made.days, today)
        try:
            yield made
        finally:
            remove_history(sql, made)


def number(value: int) -> str:
    return f"{value:,}"


def test_an_admin_reads_the_charts_and_the_apis_figures_on_a_phone(
    new_context: Callable[..., BrowserContext],
    site: Stack,
    admin: User,
    own_product: Callable[..., dict[str, Any]],
    recent_history: History,
    tmp_path: Path,
) -> None:
    # Given a shopper who removed a line from their cart today, and the rollup run since
    lamp = own_product(price=2500)
    shopper = new_context().new_page()
    add_from_product_page(shopper, lamp["slug"], quantity=3)
    shopper.goto("/cart")
    line(shopper, lamp["id"]).get_by_test_id("line-remove").click()
    expect(shopper.get_by_test_id("empty-cart")).to_be_visible()
    settled(shopper)
    roll_up_today()
    # When the administrator signs in on a phone and opens the analytics
    page = new_context(width=375, height=800).new_page()
    page.goto(f"/auth?next={PAGE}")
    sign_in(page, admin.email, admin.password)
    expect(page).to_have_url(re.compile(rf"{PAGE}$"))
    report = page.get_by_test_id("analytics-report")
    expect(report).to_be_visible()
    # Then every chart is drawn (an SVG in each)
    charts = page.get_by_test_id("analytics-chart")
    expect(charts).to_have_count(CHARTS)
    for i in range(CHARTS):
        expect(charts.nth(i).locator(".recharts-wrapper > svg")).to_be_visible()  # the chart, not a legend icon
        box = charts.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    # and the figures are the API's, as text
    api = get_json(f"{site.api_url}/admin/analytics/carts", admin.access_token)
    assert (report.get_attribute("data-from"), report.get_attribute("data-to")) == (api["from"], api["to"])
    totals = api["totals"]
    for name in ("created", "abandoned", "recovered", "converted"):
        expect(page.locator(f'[data-testid="analytics-figure"][data-figure="{name}"]')).to_have_text(
            number(totals[name])
        )
    assert totals["active"] is not None
    expect(page.locator('[data-testid="analytics-figure"][data-figure="active"]')).to_have_text(
        number(totals["active"])
    )
    for reason, count in totals["refusals"].items():
        expect(page.locator(f'[data-testid="analytics-refusals"][data-reason="{reason}"]')).to_have_text(number(count))
    for value in api["averageCartValue"]:
        shown_value = page.locator(f'[data-testid="analytics-value"][data-currency="{value["currency"]}"]')
        for average in (value["convertedAverage"], value["abandonedAverage"]):
            if average is not None:
                expect(shown_value).to_contain_text(f"{average / 100:,.2f}")
    buckets = page.get_by_test_id("analytics-bucket")
    expect(buckets).to_have_count(len(api["series"]))
    # the lamp's removal is today's: among the most removed unless ten products were removed more today
    removed = [p["productId"] for p in api["mostRemoved"]]
    assert removed, "today's removal is counted"
    shown = page.locator('[data-testid="analytics-product"]')
    expect(shown).to_have_count(len(api["mostRemoved"]) + len(api["mostAbandoned"]))
    # And the page is accessible, without horizontal scroll at 375 px
    assert axe_violations(page) == []
    assert horizontal_overflow(page) <= 0
    screenshot(page, "analytics-375.png", tmp_path)


def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    """docs/storefront.md shows these: storefront/docs/ with UPDATE_SCREENSHOTS=1, else the test's folder."""
    folder = STOREFRONT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    page.screenshot(path=str(folder / name), full_page=True)
    assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_range_form_asks_the_api_for_that_range_by_week(
    new_context: Callable[..., BrowserContext], site: Stack, admin: User, recent_history: History, tmp_path: Path
) -> None:
    page = new_context().new_page()
    page.goto(f"/auth?next={PAGE}")
    sign_in(page, admin.email, admin.password)
    expect(page.get_by_test_id("analytics-report")).to_be_visible()
    expect(page.get_by_test_id("analytics-chart").first.locator(".recharts-wrapper > svg")).to_be_visible()
    assert axe_violations(page) == []  # at 1280 px too
    screenshot(page, "analytics-1280.png", tmp_path)
    page.get_by_label("From", exact=True).fill("2003-03-03")
    page.get_by_label("To", exact=True).fill("2003-04-30")
    page.get_by_label("By", exact=True).select_option("week")
    page.get_by_test_id("analytics-apply").click()
    expect(page).to_have_url(re.compile(r"from=2003-03-03&to=2003-04-30&bucket=week"))
    expect(page.get_by_test_id("analytics-report")).to_have_attribute("data-from", "2003-03-03")
    expect(page.get_by_test_id("analytics-bucket")).to_have_count(9)  # nine ISO weeks meet that range
    # a range the API refuses is said so, with the form to correct it
    page.goto(f"{PAGE}?from=2003-05-01&to=2003-04-01")
    expect(page.get_by_test_id("analytics-problem")).to_contain_text("after")


def test_a_shopper_who_is_no_administrator_is_told_so_and_a_visitor_is_sent_to_sign_in(page: Page, site: Stack) -> None:
    page.goto(PAGE)
    expect(page).to_have_url(re.compile(r"/auth\?next=%2Fadmin%2Fanalytics|/auth\?next=/admin/analytics"))
    email = f"shopper-{uuid.uuid4().hex[:10]}@example.com"
    site.cognito.sign_up(email, PASSWORD)
    sign_in(page, email)
    forbidden = page.get_by_test_id("analytics-forbidden")
    expect(forbidden).to_be_visible()
    expect(forbidden).to_contain_text("Not allowed")
    expect(page.get_by_test_id("analytics-chart")).to_have_count(0)
    assert axe_violations(page) == []
