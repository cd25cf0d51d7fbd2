"""Share links (issue 23, item 2; docs/lists.md): a read-only link to a cart or a list, signed,
expiring and revocable; GET /shared/{token} with no credentials, and POST /cart/copy-shared into the
caller's own cart, through the Lambda handlers on real PostgreSQL. Hostile cases: forged, tampered,
cut-short, expired, revoked links and other kinds of tokens, another owner's link, and what a link
must never tell (the owner's cart, list or link id, session, user id, email)."""

from __future__ import annotations

import base64
import json
import struct
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow

from cart_common import recovery, shares
from cart_common.errors import ShareLinkExpired, ShareLinkInvalid
from cart_common.lifecycle import sweep
from cart_common.session import hash_token, mint_token, signing_keys
from tests.conftest import MUG, POSTER, TSHIRT, TSHIRT_M_RED, Reply, Shopper, User, one
from tests.integration.test_cart_api import assert_problem
from tests.integration.test_erasure import erase, rows_naming
from tests.integration.test_lists import add_to, create, held, lists_of, read, to_list, with_key


def share_cart(shopper: Shopper, **body: Any) -> Reply:
    return shopper.call("POST", "/cart/share", body=body)


def share_list(shopper: Shopper, list_id: str, **body: Any) -> Reply:
    return shopper.call("POST", "/lists/{listId}/share", path_params={"listId": list_id}, body=body)


def shown(token: str, **kwargs: Any) -> Reply:
    """GET /shared/{token} as a stranger: no credentials at all."""
    return Shopper().call("GET", "/shared/{token}", path_params={"token": token}, **kwargs)


def copy(shopper: Shopper, token: str, **kwargs: Any) -> Reply:
    return shopper.call("POST", "/cart/copy-shared", body={"token": token}, **kwargs)


def revoke(shopper: Shopper, share_id: str) -> Reply:
    return shopper.call("DELETE", "/shares/{shareId}", path_params={"shareId": share_id})


# --- a cart's link, and a list's ---------------------------------------------------------------------------


def test_a_cart_link_shows_the_lines_as_shared_at_todays_prices_and_nothing_of_the_owner(
    user: User, make_product, sql: psycopg.Connection[DictRow]
) -> None:
    # Given a signed-in shopper's cart (a gift note on one line) shared by link
    owner = Shopper(bearer=user.access_token)
    product = make_product(price=1000, stock=10)
    owner.add(product["id"], 2)
    cart = owner.add(TSHIRT, 1, variant_id=TSHIRT_M_RED, attributes={"gift": "For Ann"}).json
    made = share_cart(owner, expiresInDays=3)
    assert made.status == 201, made
    link = made.json
    assert (link["kind"], link["listId"], link["name"]) == ("cart", None, None)
    assert link["path"] == f"/shared/{link['token']}" and link["token"].startswith("s1.")
    expires = datetime.fromisoformat(link["expiresAt"])
    assert timedelta(days=3) - timedelta(seconds=5) < expires - datetime.now(UTC) <= timedelta(days=3)
    # When the owner's cart and the catalog change, and a stranger opens the link
    owner.add(MUG, 1)
    sql.execute("update product set price = 1200 where id = %s", (product["id"],))
    reply = shown(link["token"])
    # Then it shows the lines as they were shared, at today's prices, and never the owner
    assert reply.status == 200, reply
    body = reply.json
    assert (body["kind"], body["name"], body["currency"], body["itemCount"]) == ("cart", None, "USD", 3)
    assert [(i["productId"], i["quantity"], i["unitPrice"]) for i in body["items"]] == [
        (product["id"], 2, 1200), (TSHIRT, 1, 1999)
    ]  # fmt: skip
    assert body["subtotal"] == 2 * 1200 + 1999 and body["items"][0]["lineTotal"] == 2400
    assert body["items"][1]["attributes"] == {"size": "M", "colour": "red"}  # not the owner's gift note
    text = json.dumps(body)
    session_key = hash_token(owner.token) if owner.token else None
    for secret in (cart["id"], link["shareId"], user.sub, user.email, "For Ann", session_key):
        assert secret is None or secret not in text, secret
    assert reply.headers["Cache-Control"] == "private, no-cache" and reply.headers["ETag"]
    assert "Set-Cookie" not in reply.headers and "X-Cart-Session" not in reply.headers and not reply.cookies
    # and a read with the ETag it has is 304
    again = shown(link["token"], headers={"If-None-Match": reply.headers["ETag"]})
    assert again.status == 304 and again.json is None


def test_a_list_link_shows_the_list_as_it_is_now_with_its_name(shopper: Shopper) -> None:
    listed = create(shopper, "Gift ideas").json
    add_to(shopper, listed["id"], MUG, 2, attributes={"note": "mine"})
    link = share_list(shopper, listed["id"]).json
    assert (link["kind"], link["listId"], link["name"]) == ("list", listed["id"], "Gift ideas")
    add_to(shopper, listed["id"], POSTER, 1)
    body = shown(link["token"]).json
    assert (body["kind"], body["name"]) == ("list", "Gift ideas")
    assert [(i["productId"], i["quantity"], i["attributes"]) for i in body["items"]] == [(MUG, 2, {}), (POSTER, 1, {})]
    assert listed["id"] not in json.dumps(body)


def test_an_empty_cart_cannot_be_shared_and_an_empty_list_can(shopper: Shopper) -> None:
    assert_problem(share_cart(shopper), 409, "cart_empty")
    listed = create(shopper, "Empty").json
    body = shown(share_list(shopper, listed["id"]).json["token"]).json
    assert (body["items"], body["itemCount"], body["currency"], body["subtotal"]) == ([], 0, None, 0)


def test_the_owner_lists_revokes_and_the_link_stops_at_once(shopper: Shopper, other_shopper: Shopper) -> None:
    shopper.add(MUG)
    first, second = share_cart(shopper).json, share_cart(shopper, expiresInDays=1).json
    listed = shopper.call("GET", "/shares").json["links"]
    assert [(s["shareId"], s["token"]) for s in listed] == [(first["shareId"], first["token"]),
                                                            (second["shareId"], second["token"])]  # fmt: skip
    # another shopper cannot revoke it (and learns nothing)
    assert_problem(revoke(other_shopper, first["shareId"]), 404, "share_not_found")
    assert shown(first["token"]).status == 200
    reply = revoke(shopper, first["shareId"])
    assert reply.status == 200 and [s["shareId"] for s in reply.json["links"]] == [second["shareId"]], reply
    assert_problem(shown(first["token"]), 410, "share_link_revoked")
    assert_problem(copy(other_shopper, first["token"]), 410, "share_link_revoked")
    assert_problem(revoke(shopper, first["shareId"]), 404, "share_not_found")  # once
    assert shown(second["token"]).status == 200


def test_deleting_a_shared_list_revokes_its_links(shopper: Shopper) -> None:
    listed = create(shopper, "Short-lived").json
    link = share_list(shopper, listed["id"]).json
    shopper.call("DELETE", "/lists/{listId}", path_params={"listId": listed["id"]})
    assert_problem(shown(link["token"]), 410, "share_link_revoked")
    assert shopper.call("GET", "/shares").json["links"] == []


def test_another_owners_list_cannot_be_shared(shopper: Shopper, other_shopper: Shopper) -> None:
    theirs = create(other_shopper, "Theirs").json
    assert_problem(share_list(shopper, theirs["id"]), 404, "list_not_found")
    assert (
        other_shopper.call("GET", "/shares").json["links"] == [] and shopper.call("GET", "/shares").json["links"] == []
    )


# --- links that do not work -----------------------------------------------------------------------------


def _body(token: str) -> str:
    return token.rpartition(".")[0]


def _forged_payload(share_id: uuid.UUID, expires: int) -> str:
    return base64.urlsafe_b64encode(struct.pack(">16sq", share_id.bytes, expires)).rstrip(b"=").decode()


def bad_tokens(good: str) -> dict[str, str]:
    """Every way a token can be wrong without being this API's: none may say whether a link exists."""
    tag, payload, signature = good.split(".")
    later = int(time.time()) + 86_400 * 365
    return {
        "garbage": "not-a-token",
        "empty-ish": "s1..",
        "cut short": good[:-5],
        "tampered signature": f"{tag}.{payload}.{signature[:-4]}{'AAAA' if not signature.endswith('AAAA') else 'BBBB'}",
        "another link's id, same signature": f"{tag}.{_forged_payload(uuid.uuid4(), later)}.{signature}",
        "stretched expiry": f"{tag}.{_forged_payload(uuid.UUID(bytes=base64.urlsafe_b64decode(payload + '=')[:16]), later)}.{signature}",
        "another tag": f"r1.{payload}.{signature}",
        "a guest session token": mint_token(signing_keys()),
        "a recovery link": recovery.mint(uuid.uuid4(), datetime.now(UTC)),
        "signed with another key": f"{tag}.{payload}.{base64.urlsafe_b64encode(b'x' * 32).rstrip(b'=').decode()}",
        "too long": good + "A" * 200,
    }


def test_forged_damaged_and_foreign_tokens_are_share_link_invalid_before_the_database(shopper: Shopper) -> None:
    shopper.add(MUG)
    good = share_cart(shopper).json["token"]
    cart_before = Shopper().get().json
    for name, token in bad_tokens(good).items():
        reply = shown(token)
        problem = assert_problem(reply, 404, "share_link_invalid")
        assert "expiredAt" not in problem and token not in json.dumps(problem), name
        assert_problem(copy(Shopper(), token), 404, "share_link_invalid")
        with pytest.raises(ShareLinkInvalid):
            shares.verify(token)
    assert cart_before["items"] == []
    assert shown(good).status == 200  # (the good one works)


def test_an_expired_link_is_share_link_expired_and_copies_nothing(shopper: Shopper, other_shopper: Shopper) -> None:
    shopper.add(MUG)
    link = share_cart(shopper, expiresInDays=1).json
    expires = datetime.fromisoformat(link["expiresAt"])
    with pytest.raises(ShareLinkExpired):
        shares.verify(link["token"], now=expires.timestamp())
    # a token minted for a moment already past (as the same link a day later would be)
    past = shares.mint(uuid.UUID(link["shareId"]), datetime.now(UTC) - timedelta(seconds=1))
    assert assert_problem(shown(past), 410, "share_link_expired")["expiredAt"]
    before = other_shopper.get().json
    assert_problem(copy(other_shopper, past), 410, "share_link_expired")
    assert other_shopper.get().json == before


def test_a_link_expires_in_at_most_the_configured_maximum(shopper: Shopper) -> None:
    shopper.add(MUG)
    link = share_cart(shopper, expiresInDays=365).json
    assert datetime.fromisoformat(link["expiresAt"]) - datetime.now(UTC) <= timedelta(days=30)
    assert_problem(share_cart(shopper, expiresInDays=0), 422, "validation_failed")


# --- copying a shared cart into one's own --------------------------------------------------------------


def test_a_stranger_copies_a_shared_cart_into_their_own_cart_with_the_report(
    shopper: Shopper, make_product, sql: psycopg.Connection[DictRow]
) -> None:
    scarce = make_product(stock=10)
    shopper.add(scarce["id"], 4)
    owner_cart = shopper.add(MUG, 2, attributes={"note": "private"}).json
    link = share_cart(shopper).json
    sql.execute("update product set stock = 3 where id = %s", (scarce["id"],))
    stranger = Shopper()  # a fresh browser: no session yet
    stranger.add(MUG, 1)
    reply = copy(stranger, link["token"])
    assert reply.status == 200, reply
    report = {line["productId"]: (line["requested"], line["added"], line["quantity"], line["reason"])
              for line in reply.json["lines"]}  # fmt: skip
    assert report == {scarce["id"]: (4, 3, 3, "insufficient_stock"), MUG: (2, 2, 3, None)}
    mine = reply.json["cart"]
    assert held(mine) == {(MUG, None): (3, {}), (scarce["id"], None): (3, {})}  # no owner's note
    assert mine["id"] != owner_cart["id"] and reply.headers["ETag"] == f'"{mine["version"]}"'
    after = shopper.get().json  # the owner's cart is as it was (its stock figures are today's)
    assert (after["version"], held(after)) == (owner_cart["version"], held(owner_cart))
    # an Idempotency-Key replays the copy instead of adding twice
    key = with_key()
    first, second = copy(stranger, link["token"], **key), copy(stranger, link["token"], **key)
    assert first.json == second.json and held(stranger.get().json)[(MUG, None)][0] == 5


def test_a_copy_with_a_stale_if_match_of_the_callers_cart_changes_nothing(shopper: Shopper) -> None:
    shopper.add(POSTER)
    link = share_cart(shopper).json
    stranger = Shopper()
    cart = stranger.add(MUG).json
    stale = copy(stranger, link["token"], headers={"If-Match": f'"{cart["version"] - 1}"'})
    assert assert_problem(stale, 409, "version_conflict")["currentVersion"] == cart["version"]
    assert stranger.get().json == cart


def test_a_guests_copy_becomes_the_users_at_sign_in_with_the_link(user: User, shopper: Shopper) -> None:
    shopper.add(TSHIRT, 2, variant_id=TSHIRT_M_RED)
    link = share_cart(shopper).json
    guest = Shopper()
    assert copy(guest, link["token"]).status == 200
    signed_in = Shopper(bearer=user.access_token)
    signed_in.token = guest.session_token
    assert signed_in.merge().status == 200
    assert held(signed_in.get().json)[(TSHIRT, TSHIRT_M_RED)][0] == 2


# --- erasure and the sweep -------------------------------------------------------------------------------


def test_an_erasure_takes_the_users_lists_and_links_and_the_links_stop(
    make_user, admin: User, sql: psycopg.Connection[DictRow]
) -> None:
    user = make_user()
    guest = Shopper()
    to_list(guest, guest.add(MUG).json["items"][0]["id"])
    signed_in = Shopper(bearer=user.access_token)
    signed_in.token = guest.session_token
    signed_in.merge()
    listed = create(signed_in, "Mine").json
    add_to(signed_in, listed["id"], POSTER)
    signed_in.add(MUG)
    links = [share_cart(signed_in).json, share_list(signed_in, listed["id"]).json]
    assert rows_naming(sql, [user.sub]), "the arrangement left nothing to erase"
    reply = erase(user.sub, admin.access_token)
    assert reply.status == 200, reply
    erased = reply.json["erased"]
    assert (erased["lists"], erased["listItems"], erased["shareLinks"]) == (2, 2, 2)
    assert rows_naming(sql, [user.sub]) == []
    for link in links:
        assert_problem(shown(link["token"]), 410, "share_link_revoked")
    assert one(sql.execute("select count(*) as n from shopping_list where id = %s", (listed["id"],)))["n"] == 0


def test_the_sweep_removes_expired_guest_lists_and_links_and_keeps_the_rest(
    user: User, sql: psycopg.Connection[DictRow]
) -> None:
    guest, kept = Shopper(), Shopper()
    expired, fresh = create(guest, "Old").json, create(kept, "New").json
    users = create(Shopper(bearer=user.access_token), "Forever").json
    guest.add(MUG)
    link = share_cart(guest).json
    sql.execute("update shopping_list set expires_at = now() - interval '1 minute' where id = %s", (expired["id"],))
    sql.execute("update share_link set expires_at = now() - interval '1 minute' where id = %s", (link["shareId"],))
    from cart_common.db import Database

    report = sweep(Database(), lambda: 600_000)
    assert report.complete and report.lists_expired >= 1 and report.share_links_expired >= 1
    assert_problem(read(guest, expired["id"]), 404, "list_not_found")
    assert read(kept, fresh["id"]).status == 200
    assert [s["id"] for s in lists_of(Shopper(bearer=user.access_token))] == [users["id"]]
    gone = one(sql.execute("select count(*) as n from share_link where id = %s", (link["shareId"],)))
    assert gone["n"] == 0
