"""Lifecycle durations take ISO 8601 durations as well as plain numbers, so a developer can watch
guest carts expire and carts be marked abandoned within minutes (``GUEST_CART_TTL_DAYS=PT2M``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from cart_common.config import Settings, get_settings
from tests.conftest import MUG, Shopper, one
from tests.integration.test_lifecycle import age, cart_row, quiet, sweep_until_done  # noqa: F401 - quiet: a fixture


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("guest_cart_ttl_days", "30", 30),
        ("guest_cart_ttl_days", "PT2M", 2 / (24 * 60)),
        ("user_cart_ttl_days", "P1DT12H", 1.5),
        ("abandoned_after_hours", "PT90M", 1.5),
        ("abandoned_after_hours", "pt1m", 1 / 60),
        ("abandoned_retention_days", "P2W", 14),
    ],
)
def test_a_duration_is_a_number_in_its_unit_or_an_iso_8601_duration(variable: str, value: str, expected: float) -> None:
    assert getattr(Settings.model_validate({variable: value}), variable) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["2 minutes", "0", "PT0S", "-P1D", "P"])
def test_a_duration_that_is_neither_or_not_positive_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"guest_cart_ttl_days": value})


def test_a_guest_cart_expires_after_an_iso_duration(sql, fresh_settings, monkeypatch) -> None:
    monkeypatch.setenv("GUEST_CART_TTL_DAYS", "PT2M")
    get_settings.cache_clear()
    cart = Shopper().add(MUG).json
    left = one(sql.execute("select expires_at - now() as left from cart where id = %s", (cart["id"],)))["left"]
    assert timedelta(seconds=90) < left <= timedelta(minutes=2)


@pytest.mark.usefixtures("quiet")
def test_a_cart_idle_for_longer_than_an_iso_duration_is_marked_abandoned(sql, fresh_settings, monkeypatch) -> None:
    monkeypatch.setenv("ABANDONED_AFTER_HOURS", "PT2M")
    get_settings.cache_clear()  # the quiet fixture's sweep read the settings already
    started = one(sql.execute("select now() as t"))["t"]
    idle, fresh = Shopper(), Shopper()
    idle_cart, fresh_cart = idle.add(MUG).json, fresh.add(MUG).json
    age(sql, idle_cart["id"], last_activity_at="3 minutes")
    age(sql, fresh_cart["id"], last_activity_at="1 minute")
    try:
        sweep_until_done()
        assert cart_row(sql, idle_cart["id"])["abandoned_at"] is not None
        assert cart_row(sql, fresh_cart["id"])["abandoned_at"] is None
    finally:
        # Other tests' carts idle for minutes were marked too: unmark them.
        sql.execute(
            "update cart set abandoned_at = null, abandoned_value = null, abandoned_items = null"
            " where abandoned_at >= %s and id <> %s",
            (started, idle_cart["id"]),
        )
