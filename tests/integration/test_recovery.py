"""Recovery links (cart_common/recovery.py) and POST /cart/recover, on real PostgreSQL: an abandoned
cart comes back to a fresh browser, to its user after sign-in, and to no one else; every hostile
token (generated) is a 400 problem that costs no query and changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import DictRow

from cart_common import recovery
from cart_common.config import Settings
from cart_common.errors import RecoveryLinkExpired, RecoveryLinkInvalid
from tests.conftest import MUG, POSTER, SIGNING_KEY, TSHIRT, TSHIRT_S_RED, Lines, Reply, Shopper, User, one
from tests.integration.test_cart_api import assert_problem

STOREFRONT = "https://shop.example.com"


@pytest.fixture
def storefront(fresh_settings: None, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STOREFRONT_URL", STOREFRONT)
    return STOREFRONT


def abandon(sql: psycopg.Connection[DictRow], cart_id: str, ago: str = "1 hour") -> datetime:
    """Mark the cart abandoned as the sweep would (its value and lines kept); its ``abandoned_at``."""
    row = one(
        sql.execute(
            "update cart c set abandoned_at = now() - %s::interval, last_activity_at = now() - interval '2 days',"
            " abandoned_value = coalesce(cart_value(c.id), 0)::bigint,"
            " abandoned_items = (select coalesce(jsonb_agg(jsonb_build_object('productId', i.product_id,"
            " 'variantId', i.variant_id, 'name', s.name, 'quantity', i.quantity, 'unitPrice', s.price)), '[]')"
            " from cart_item i cross join lateral sellable(i.product_id, i.variant_id) s where i.cart_id = c.id)"
            " where id = %s returning abandoned_at",
            (ago, cart_id),
        )
    )
    return row["abandoned_at"]


def link_for(sql: psycopg.Connection[DictRow], cart_id: str, ago: str = "1 hour") -> str:
    return recovery.mint(uuid.UUID(cart_id), abandon(sql, cart_id, ago))


def recover(shopper: Shopper, token: Any) -> Reply:
    return shopper.call("POST", "/cart/recover", body={"token": token})


def lines(reply: Reply) -> dict[str, int]:
    return {item["productId"]: item["quantity"] for item in reply.json["items"]}


def cart_row(sql: psycopg.Connection[DictRow], cart_id: str) -> dict[str, Any]:
    return one(sql.execute("select * from cart where id = %s", (cart_id,)))


def guest_with(*adds: tuple[str, int] | tuple[str, int, str]) -> tuple[Shopper, str]:
    shopper = Shopper()
    for add in adds:
        assert shopper.add(*add).status == 200
    return shopper, shopper.get().json["id"]


# --- a guest's cart ------------------------------------------------------------------------------


def test_a_guest_cart_comes_back_to_a_fresh_browser_which_takes_it_over(sql) -> None:
    original, cart_id = guest_with((MUG, 2), (TSHIRT, 1, TSHIRT_S_RED))
    token = link_for(sql, cart_id)

    fresh = Shopper()
    reply = recover(fresh, token)

    assert reply.status == 200, reply
    assert reply.json["id"] == cart_id
    assert lines(reply) == {MUG: 2, TSHIRT: 1}
    assert fresh.session_token, "the fresh browser got a guest session, which now owns the cart"
    assert fresh.get().json["id"] == cart_id
    row = cart_row(sql, cart_id)
    assert row["abandoned_at"] is None and row["recovered_at"] is not None
    assert row["session_id"] == hashlib.sha256(fresh.session_token.encode()).hexdigest()
    assert row["abandoned_value"] is not None, "the snapshot stays, so a later order counts as recovered"
    assert original.get().json["id"] is None, "the browser that abandoned it no longer has it"


def test_a_reload_in_the_same_browser_shows_the_cart_and_another_browser_is_told_it_was_used(sql) -> None:
    _, cart_id = guest_with((MUG, 1))
    token = link_for(sql, cart_id)
    first = Shopper()
    assert recover(first, token).status == 200
    version = cart_row(sql, cart_id)["version"]

    again = recover(first, token)
    assert again.status == 200 and again.json["id"] == cart_id
    assert cart_row(sql, cart_id)["version"] == version, "a reload changes nothing"

    other = Shopper()
    assert_problem(recover(other, token), 410, "recovery_link_used")
    assert other.get().json["id"] is None
    assert first.get().json["id"] == cart_id


def test_a_cart_changed_since_the_link_was_sent_is_stale_and_stays_with_its_shopper(sql) -> None:
    original, cart_id = guest_with((MUG, 1))
    token = link_for(sql, cart_id)
    assert original.add(POSTER, 1).status == 200  # the shopper came back by themselves: the mark is gone

    assert_problem(recover(Shopper(), token), 410, "recovery_link_stale")
    assert original.get().json["id"] == cart_id


def test_a_link_from_an_earlier_abandonment_dies_with_the_next_mark(sql) -> None:
    _, cart_id = guest_with((MUG, 1))
    old = link_for(sql, cart_id, "3 hours")
    new = link_for(sql, cart_id, "1 hour")
    assert old != new
    assert_problem(recover(Shopper(), old), 410, "recovery_link_stale")
    assert recover(Shopper(), new).status == 200


def test_the_callers_own_cart_is_folded_in_as_a_merge_would_and_marked_merged(sql) -> None:
    _, cart_id = guest_with((MUG, 2), (POSTER, 2))
    token = link_for(sql, cart_id)
    caller, own_id = guest_with((MUG, 3), (POSTER, 2), (TSHIRT, 1, TSHIRT_S_RED))

    reply = recover(caller, token)

    assert reply.status == 200, reply
    assert reply.json["id"] == cart_id
    # summed, capped at the stock (the poster has 3)
    assert lines(reply) == {MUG: 5, POSTER: 3, TSHIRT: 1}
    own = cart_row(sql, own_id)
    assert own["status"] == "merged" and str(own["merged_into"]) == cart_id


def test_the_fold_caps_at_available_stock_what_other_shoppers_checkouts_hold_is_not_there(
    sql, make_product, user
) -> None:
    product = make_product(stock=5)["id"]
    holder = Shopper(bearer=user.access_token)
    assert holder.add(product, 2).status == 200
    assert holder.call("POST", "/cart/checkout", body={}).status == 200  # holds 2 of the 5
    _, cart_id = guest_with((product, 1))
    token = link_for(sql, cart_id)
    caller, _ = guest_with((product, 3))

    reply = recover(caller, token)

    assert reply.status == 200, reply
    assert lines(reply) == {product: 3}  # 1 + 3 summed, capped at the 3 the open checkout leaves


def test_a_converted_or_deleted_cart_is_not_found_or_gone(sql) -> None:
    _, cart_id = guest_with((MUG, 1))
    token = link_for(sql, cart_id)
    sql.execute("delete from cart where id = %s", (cart_id,))
    assert_problem(recover(Shopper(), token), 404, "cart_not_found")


# --- a user's cart -------------------------------------------------------------------------------


def test_a_users_cart_asks_a_guest_to_sign_in_tells_another_user_nothing_and_comes_back_to_its_user(
    sql, make_user
) -> None:
    owner: User = make_user()
    signed_in = Shopper(bearer=owner.access_token)
    assert signed_in.add(MUG, 2).status == 200
    cart_id = signed_in.get().json["id"]
    token = link_for(sql, cart_id)

    guest = Shopper()
    body = assert_problem(recover(guest, token), 401, "authentication_required")
    assert "Sign in" in body["detail"]
    stranger = Shopper(bearer=make_user().access_token)
    assert_problem(recover(stranger, token), 404, "cart_not_found")
    assert stranger.get().json["id"] != cart_id
    assert cart_row(sql, cart_id)["abandoned_at"] is not None, "refusals change nothing"

    # the user, in a new browser that had a guest cart of its own: both come together
    browser = Shopper()
    assert browser.add(POSTER, 1).status == 200
    browser.bearer = owner.access_token
    reply = recover(browser, token)
    assert reply.status == 200, reply
    assert reply.json["id"] == cart_id
    assert lines(reply) == {MUG: 2, POSTER: 1}
    assert browser.token is None, "the guest session's cart was folded in: its cookie is cleared"
    row = cart_row(sql, cart_id)
    assert row["user_id"] == owner.sub and row["recovered_at"] is not None
    # and after it was recovered, other callers still learn nothing more than before
    assert_problem(recover(Shopper(bearer=make_user().access_token), token), 404, "cart_not_found")


def test_a_guest_cart_opened_by_a_signed_in_user_becomes_theirs_with_their_own_lines(sql, user: User) -> None:
    mine = Shopper(bearer=user.access_token)
    assert mine.add(POSTER, 1).status == 200
    own_id = mine.get().json["id"]
    _, cart_id = guest_with((MUG, 1))
    reply = recover(mine, link_for(sql, cart_id))
    assert reply.status == 200, reply
    assert reply.json["id"] == cart_id and lines(reply) == {MUG: 1, POSTER: 1}
    assert cart_row(sql, cart_id)["user_id"] == user.sub
    assert cart_row(sql, own_id)["status"] == "merged"


# --- the admin listing -----------------------------------------------------------------------------


def test_the_admin_listing_gives_each_cart_its_working_recovery_url(sql, storefront: str, admin: User) -> None:
    _, cart_id = guest_with((MUG, 1))
    abandoned_at = abandon(sql, cart_id)
    listed = Shopper(bearer=admin.access_token).call("GET", "/admin/carts/abandoned", headers={})
    assert listed.status == 200, listed
    entry = next(c for c in listed.json["carts"] if c["id"] == cart_id)
    url = urlsplit(entry["recoveryUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{storefront}/cart/recover"
    token = parse_qs(url.query)["token"][0]
    assert token == recovery.mint(uuid.UUID(cart_id), abandoned_at), "one mark, one link, in the event too"
    assert recover(Shopper(), token).status == 200


def test_without_a_storefront_url_there_is_no_link(fresh_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREFRONT_URL", raising=False)
    assert recovery.recovery_url(uuid.uuid4(), datetime.now(UTC)) is None
    fields = recovery.abandoned_event_fields(uuid.uuid4(), datetime.now(UTC))
    assert fields["recoveryUrl"] is None and fields["recoveryExpiresAt"]


# --- the token ---------------------------------------------------------------------------------------


def test_an_expired_link_is_gone_before_any_query(sql, monkeypatch: pytest.MonkeyPatch) -> None:
    _, cart_id = guest_with((MUG, 1))
    token = link_for(sql, cart_id, "8 days")  # the default TTL is 7 days after the mark
    body = assert_problem(recover(Shopper(), token), 410, "recovery_link_expired")
    assert body["expiredAt"]
    assert cart_row(sql, cart_id)["abandoned_at"] is not None


def test_the_ttl_is_a_setting() -> None:
    at = datetime(2030, 1, 1, tzinfo=UTC)
    claim = recovery.verify(
        recovery.mint(uuid.uuid4(), at, Settings(session_signing_key=SIGNING_KEY, recovery_token_ttl_days=1)),
        Settings(session_signing_key=SIGNING_KEY),
        now=at.timestamp(),
    )
    assert claim.expires_at == at + timedelta(days=1)
    with pytest.raises(RecoveryLinkExpired):
        recovery.verify(recovery.mint(uuid.uuid4(), at), now=(at + timedelta(days=7)).timestamp())


moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


@given(cart_id=st.uuids(), abandoned_at=moments)
def test_every_minted_token_verifies_to_the_cart_and_mark_it_was_minted_for(
    cart_id: uuid.UUID, abandoned_at: datetime
) -> None:
    token = recovery.mint(cart_id, abandoned_at)
    claim = recovery.verify(token, now=abandoned_at.timestamp())
    assert (claim.cart_id, claim.abandoned_at) == (cart_id, abandoned_at)
    assert len(token) == 90 and token.startswith("r1.")


@given(cart_id=st.uuids(), abandoned_at=moments, data=st.data())
def test_changing_any_one_character_of_a_token_makes_it_invalid(
    cart_id: uuid.UUID, abandoned_at: datetime, data: st.DataObject
) -> None:
    token = recovery.mint(cart_id, abandoned_at)
    at = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from("ABCxyz019-_.=+/ é\x00").filter(lambda c: c != token[at]))
    with pytest.raises(RecoveryLinkInvalid):
        recovery.verify(token[:at] + replacement + token[at + 1 :], now=abandoned_at.timestamp())


def _signed_with(key: bytes, body: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()


@given(cart_id=st.uuids(), abandoned_at=moments, key=st.binary(min_size=32, max_size=64))
def test_a_token_signed_with_any_other_key_is_invalid(cart_id: uuid.UUID, abandoned_at: datetime, key: bytes) -> None:
    body = recovery.mint(cart_id, abandoned_at).rpartition(".")[0]
    forged = f"{body}.{_signed_with(key, body)}"
    if key == SIGNING_KEY.encode():
        return
    with pytest.raises(RecoveryLinkInvalid):
        recovery.verify(forged, now=abandoned_at.timestamp())


@given(
    text=st.one_of(
        st.text(max_size=200),
        st.from_regex(r"r1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}", fullmatch=True),
        st.from_regex(r"v1\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", fullmatch=True),
    )
)
def test_any_other_text_is_invalid(text: str) -> None:
    with pytest.raises(RecoveryLinkInvalid):
        recovery.verify(text)


def test_a_guest_session_token_is_not_a_recovery_token_nor_the_reverse() -> None:
    guest = Shopper()
    guest.get()
    assert guest.add(MUG).status == 200
    with pytest.raises(RecoveryLinkInvalid):
        recovery.verify(guest.session_token)
    from cart_common import session

    assert session.guest_owner(recovery.mint(uuid.uuid4(), datetime.now(UTC))) is None


def test_a_link_minted_before_a_key_rotation_still_works(sql, fresh_settings, monkeypatch) -> None:
    _, cart_id = guest_with((MUG, 1))
    token = link_for(sql, cart_id)
    monkeypatch.setenv("SESSION_SIGNING_KEY", f"{'n' * 48},{SIGNING_KEY}")
    from tests.conftest import _reset_layer_state

    _reset_layer_state()
    assert recover(Shopper(), token).status == 200


_hostile_bodies = st.one_of(
    st.text(min_size=1, max_size=300).map(lambda t: {"token": t}),
    st.builds(lambda t: {"token": t}, st.from_regex(r"r1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}", fullmatch=True)),
    st.dictionaries(st.text(max_size=10), st.none() | st.integers() | st.text(max_size=10), max_size=3),
    st.builds(lambda n: {"token": n}, st.integers() | st.none() | st.lists(st.text(max_size=3), max_size=2)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_hostile_bodies)
def test_a_hostile_body_is_a_4xx_problem_and_gives_nobody_a_cart(body: dict[str, Any], sql) -> None:
    before = one(sql.execute("select count(*) as n, max(updated_at) as last from cart"))
    shopper = Shopper()
    reply = shopper.call("POST", "/cart/recover", raw_body=json.dumps(body))
    assert 400 <= reply.status < 500, reply
    assert reply.content_type == "application/problem+json"
    assert reply.json["code"] in {"recovery_link_invalid", "validation_failed"}
    after = one(sql.execute("select count(*) as n, max(updated_at) as last from cart"))
    assert after == before, "a refused link changes no cart"


def test_the_token_never_reaches_the_logs_in_clear(sql, logged: Lines) -> None:
    _, cart_id = guest_with((MUG, 1))
    token = link_for(sql, cart_id)
    logged.clear()
    fresh = Shopper()
    assert recover(fresh, token).status == 200
    assert_problem(recover(Shopper(), token), 410, "recovery_link_used")
    assert_problem(recover(Shopper(), token[:-2] + "AA"), 400, "recovery_link_invalid")
    printed = "\n".join(logged.text)
    assert [line["outcome"] for line in logged.of("operation")] == ["ok", "recovery_link_used", "recovery_link_invalid"]
    assert cart_id in printed, "the operations log names the cart"
    assert token not in printed and token.split(".")[1] not in printed and token.split(".")[2] not in printed
