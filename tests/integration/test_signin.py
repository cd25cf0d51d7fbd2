"""Signed-in users: Cognito tokens verified against the pool's JWKS, user carts keyed by sub, and the
guest→user merge through its three triggers (the Cognito Post Authentication trigger, the lazy path,
POST /cart/merge)."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Protocol

import jwt
import moto.cognitoidp
import pytest

from tests.conftest import MUG, POSTER, TSHIRT, TSHIRT_M_RED, TSHIRT_S_RED, Shopper, User
from tests.integration.test_cart_api import assert_problem

MOTO_KEY = json.loads(
    gzip.decompress((Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz").read_bytes())
)


def forge(claims: dict, *, key: dict | None = None, alg: str = "RS256", kid: str = "dummy") -> str:
    """A token signed with the pool's own key (moto's), so only our claim checks can reject it."""
    signing_key = jwt.PyJWK(key or MOTO_KEY).key
    return jwt.encode(claims, signing_key, algorithm=alg, headers={"kid": kid})


class TokenSubject(Protocol):
    """What a token's claims name of a user (a ``User``, or another test's stand-in for one)."""

    sub: str
    email: str


def claims_for(user: TokenSubject, cognito, **overrides) -> dict:
    now = int(time.time())
    base = {
        "sub": user.sub,
        "iss": cognito.issuer,
        "client_id": cognito.client_id,
        "token_use": "access",
        "iat": now,
        "auth_time": now,
        "exp": now + 600,
        "username": user.email,
    }
    return {k: v for k, v in (base | overrides).items() if v is not None}


# --- identity ----------------------------------------------------------------------------------


def test_an_access_token_gives_the_user_their_own_cart(user: User) -> None:
    shopper = Shopper(bearer=user.access_token)
    cart = shopper.add(MUG, 2).json
    assert cart["itemCount"] == 2
    assert "X-Cart-Session" not in shopper.call("GET", "/cart").headers  # no guest token for a user
    again = Shopper(bearer=user.access_token).get().json  # another device, same user
    assert again["id"] == cart["id"] and again["itemCount"] == 2


def test_an_id_token_is_accepted_too(user: User) -> None:
    Shopper(bearer=user.access_token).add(MUG, 1)
    assert Shopper(bearer=user.id_token).get().json["itemCount"] == 1


def test_user_carts_are_keyed_by_sub_and_kept_longer(user: User, sql) -> None:
    Shopper(bearer=user.access_token).add(MUG)
    (cart,) = sql.execute("select * from cart where user_id = %s", (user.sub,)).fetchall()
    assert cart["session_id"] is None
    days = (cart["expires_at"] - cart["created_at"]).days
    assert 89 <= days <= 90


def test_two_users_never_see_each_others_items(make_user) -> None:
    alice, bob = Shopper(bearer=make_user().access_token), Shopper(bearer=make_user().access_token)
    item = alice.add(MUG, 1).json["items"][0]["id"]
    assert bob.get().json["items"] == []
    assert_problem(bob.update(item, quantity=3), 404, "item_not_found")
    assert_problem(bob.remove(item), 404, "item_not_found")


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("expired", {"exp": int(time.time()) - 60}),
        ("wrong issuer", {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"}),
        ("wrong client", {"client_id": "someone-elses-client"}),
        ("no token_use", {"token_use": None}),
        ("refresh-like token_use", {"token_use": "refresh"}),
        ("no exp", {"exp": None}),
        ("no sub", {"sub": None}),
    ],
)
def test_invalid_tokens_are_401_never_a_guest(user: User, cognito, case: str, overrides: dict) -> None:
    reply = Shopper(bearer=forge(claims_for(user, cognito, **overrides))).get()
    problem = assert_problem(reply, 401, "invalid_token")
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert "X-Cart-Session" not in reply.headers, case  # no silent fall back to a guest session
    assert problem["detail"]


def test_a_forged_token_for_the_right_claims_is_accepted_only_with_the_pools_key(user: User, cognito) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    claims = claims_for(user, cognito)
    # with the pool's key the API accepts it: the negative cases here fail on their claims alone
    assert Shopper(bearer=forge(claims)).get().status == 200
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "dummy"})
    assert_problem(Shopper(bearer=stranger).get(), 401, "invalid_token")


def test_an_id_token_for_another_client_is_401(user: User, cognito) -> None:
    claims = claims_for(user, cognito, token_use="id", client_id=None, aud="someone-elses-client")
    assert_problem(Shopper(bearer=forge(claims)).get(), 401, "invalid_token")
    claims["aud"] = cognito.client_id
    assert Shopper(bearer=forge(claims)).get().status == 200


def test_a_tampered_signature_is_401(user: User) -> None:
    header, payload, signature = user.access_token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert_problem(Shopper(bearer=f"{header}.{payload}.{flipped}").get(), 401, "invalid_token")


def test_a_tampered_payload_is_401(user: User) -> None:
    header, _, signature = user.access_token.split(".")
    other = jwt.utils.base64url_encode(json.dumps({"sub": "someone-else", "token_use": "access"}).encode()).decode()
    assert_problem(Shopper(bearer=f"{header}.{other}.{signature}").get(), 401, "invalid_token")


def test_alg_none_is_401(user: User, cognito) -> None:
    # "": PyJWT's typed spelling of no key, which alg "none" requires (it turns "" into None)
    unsigned = jwt.encode(claims_for(user, cognito), key="", algorithm="none", headers={"kid": "dummy"})
    assert_problem(Shopper(bearer=unsigned).get(), 401, "invalid_token")


def test_hs256_signed_with_the_public_key_is_401(user: User, cognito) -> None:
    """The algorithm-confusion attack: HMAC keyed with the pool's public key (PEM), by hand, since
    PyJWT itself refuses to sign this."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    pem = (
        jwt.PyJWK(MOTO_KEY)
        .key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    b64 = jwt.utils.base64url_encode
    signing_input = b".".join(
        [
            b64(json.dumps({"alg": "HS256", "kid": "dummy", "typ": "JWT"}).encode()),
            b64(json.dumps(claims_for(user, cognito)).encode()),
        ]
    )
    token = (signing_input + b"." + b64(hmac.new(pem, signing_input, hashlib.sha256).digest())).decode()
    assert_problem(Shopper(bearer=token).get(), 401, "invalid_token")


def test_an_unknown_signing_key_is_401(user: User, cognito) -> None:
    assert_problem(Shopper(bearer=forge(claims_for(user, cognito), kid="rotated-away")).get(), 401, "invalid_token")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "token abc", "Bearer not.a.jwt"])
def test_malformed_authorization_headers_are_401(header: str) -> None:
    reply = Shopper().call("GET", "/cart", headers={"authorization": header})
    assert_problem(reply, 401, "invalid_token")


def test_only_access_tokens_when_configured(user: User, fresh_settings, monkeypatch) -> None:
    monkeypatch.setenv("ACCEPTED_TOKEN_USES", "access")
    assert Shopper(bearer=user.access_token).get().status == 200
    assert_problem(Shopper(bearer=user.id_token).get(), 401, "invalid_token")


# --- merge: POST /cart/merge -------------------------------------------------------------------


def signed_in(guest: Shopper, user: User) -> Shopper:
    """The same browser after sign-in: the guest token still travels, now beside the Bearer."""
    shopper = Shopper(bearer=user.access_token, use_cookie=guest.use_cookie)
    shopper.token = guest.token
    return shopper


def test_a_user_without_a_cart_adopts_the_guest_cart(user: User, sql) -> None:
    guest = Shopper()
    guest_cart = guest.add(MUG, 2).json
    reply = signed_in(guest, user).merge()
    assert reply.status == 200
    assert reply.json["merge"]["outcome"] == "adopted"
    assert [(line["productId"], line["quantity"]) for line in reply.json["merge"]["added"]] == [(MUG, 2)]
    assert reply.json["cart"]["id"] == guest_cart["id"]  # the same cart, re-keyed
    (row,) = sql.execute("select user_id, session_id from cart where id = %s", (guest_cart["id"],)).fetchall()
    assert row == {"user_id": user.sub, "session_id": None}


def test_merge_sums_quantities_and_reports_each_line(user: User) -> None:
    Shopper(bearer=user.access_token).add(MUG, 1)
    Shopper(bearer=user.access_token).add(TSHIRT, 1, variant_id=TSHIRT_S_RED)
    guest = Shopper()
    guest.add(MUG, 2)
    guest.add(TSHIRT, 3, variant_id=TSHIRT_M_RED)
    result = signed_in(guest, user).merge().json
    report = result["merge"]
    assert report["outcome"] == "merged" and report["strategy"] == "sum"
    assert [(c["productId"], c["guestQuantity"], c["userQuantity"], c["quantity"]) for c in report["combined"]] == [
        (MUG, 2, 1, 3)
    ]
    assert [(a["variantId"], a["quantity"]) for a in report["added"]] == [(TSHIRT_M_RED, 3)]
    assert report["capped"] == [] and report["skipped"] == []
    lines = {(i["productId"], i["variantId"]): i["quantity"] for i in result["cart"]["items"]}
    assert lines == {(MUG, None): 3, (TSHIRT, TSHIRT_S_RED): 1, (TSHIRT, TSHIRT_M_RED): 3}


def test_a_replayed_merge_is_a_no_op(user: User) -> None:
    Shopper(bearer=user.access_token).add(MUG, 1)
    guest = Shopper()
    guest.add(MUG, 2)
    first = signed_in(guest, user).merge().json
    second = signed_in(guest, user).merge().json  # the same guest token again (a retried request)
    assert second["merge"]["outcome"] == "already_merged"
    assert second["cart"]["items"][0]["quantity"] == 3 == first["cart"]["items"][0]["quantity"]


def test_merge_caps_at_stock_and_says_why(user: User) -> None:
    Shopper(bearer=user.access_token).add(POSTER, 2)  # stock 3
    guest = Shopper()
    guest.add(POSTER, 2)
    report = signed_in(guest, user).merge().json["merge"]
    (capped,) = report["capped"]
    assert (capped["requested"], capped["quantity"], capped["reason"]) == (4, 3, "insufficient_stock")


def test_merge_brings_the_guests_saved_items_and_keeps_the_larger_of_one_both_saved(user: User) -> None:
    from tests.integration.test_saved_and_sync import save

    def saved_from(shopper: Shopper, lines: list[tuple[str, int, str | None]]) -> None:
        for product, quantity, variant in lines:
            cart = shopper.add(product, quantity, variant_id=variant).json
            item = next(i for i in cart["items"] if (i["productId"], i["variantId"]) == (product, variant))
            save(shopper, item["id"])

    owner = Shopper(bearer=user.access_token)
    saved_from(owner, [(POSTER, 1, None), (TSHIRT, 2, TSHIRT_S_RED)])
    owner.add(MUG, 1)
    guest = Shopper()
    saved_from(guest, [(POSTER, 2, None), (TSHIRT, 1, TSHIRT_S_RED), (MUG, 3, None)])
    guest.add(TSHIRT, 1, variant_id=TSHIRT_M_RED)
    result = signed_in(guest, user).merge().json
    assert result["merge"]["outcome"] == "merged"
    saved = {(s["productId"], s["variantId"]): s["quantity"] for s in result["cart"]["savedForLater"]}
    assert saved == {(POSTER, None): 2, (TSHIRT, TSHIRT_S_RED): 2, (MUG, None): 3}
    lines = {(i["productId"], i["variantId"]): i["quantity"] for i in result["cart"]["items"]}
    assert lines == {(MUG, None): 1, (TSHIRT, TSHIRT_M_RED): 1}  # saved items stay saved
    assert Shopper(bearer=user.access_token).get().json == result["cart"]


def test_merge_clears_the_guest_cookie(user: User) -> None:
    guest = Shopper(use_cookie=True)
    guest.add(MUG)
    reply = signed_in(guest, user).merge()
    assert any(c.startswith("cart_session=;") and "Max-Age=0" in c for c in reply.cookies)


def test_merge_needs_a_signed_in_user() -> None:
    guest = Shopper()
    guest.add(MUG)
    assert_problem(guest.merge(), 401, "authentication_required")


def test_merge_without_a_guest_session_returns_the_users_cart(user: User) -> None:
    Shopper(bearer=user.access_token).add(MUG, 4)
    result = Shopper(bearer=user.access_token).merge().json
    assert result["merge"]["outcome"] == "nothing_to_merge" and result["cart"]["itemCount"] == 4


# --- merge: the lazy path -----------------------------------------------------------------------


def test_a_signed_in_request_carrying_a_guest_session_merges_it_first(user: User) -> None:
    guest = Shopper(use_cookie=True)
    guest.add(MUG, 2)
    browser = signed_in(guest, user)
    reply = browser.add(POSTER, 1)  # its own work happens after the merge
    assert {(i["productId"], i["quantity"]) for i in reply.json["items"]} == {(MUG, 2), (POSTER, 1)}
    assert any(c.startswith("cart_session=;") for c in reply.cookies)
    assert browser.token is None  # the browser dropped the cleared cookie
    assert Shopper(bearer=user.access_token).get().json["itemCount"] == 3


# --- merge: the Cognito Post Authentication trigger ----------------------------------------------


def post_authentication_event(cognito, user: User, cart_session: str | None) -> dict:
    event = json.loads((Path(__file__).parents[2] / "events" / "merge_cart_post_auth.json").read_text())
    event["userPoolId"] = cognito.user_pool_id
    event["userName"] = user.sub
    event["callerContext"]["clientId"] = cognito.client_id
    event["request"]["userAttributes"] = {"sub": user.sub, "email": user.email, "email_verified": "true"}
    event["request"]["clientMetadata"] = {"cartSession": cart_session} if cart_session else {}
    return event


def invoke_trigger(event: dict) -> dict:
    from local import stack, template

    function = next(f for f in template.functions() if f.name == "SignInMergeFunction")
    return stack.load_function(function)(event, stack.LambdaContext("SignInMergeFunction", 5))


def test_the_trigger_merges_and_returns_the_event_unchanged(user: User, cognito) -> None:
    guest = Shopper()
    guest.add(MUG, 2)
    event = post_authentication_event(cognito, user, guest.token)
    assert invoke_trigger(json.loads(json.dumps(event))) == event
    assert Shopper(bearer=user.access_token).get().json["itemCount"] == 2
    # and the lazy path finding the same guest session later is a no-op
    assert signed_in(guest, user).get().json["itemCount"] == 2


@pytest.mark.parametrize("session", [None, "garbage", "v1.AAAA.BBBB"])
def test_the_trigger_ignores_a_missing_or_invalid_session(user: User, cognito, session) -> None:
    event = post_authentication_event(cognito, user, session)
    assert invoke_trigger(json.loads(json.dumps(event))) == event
    assert Shopper(bearer=user.access_token).get().json["id"] is None
