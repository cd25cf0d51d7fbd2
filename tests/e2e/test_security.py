"""Security (issue 7, item 4), through the local stack (the WSGI ``LocalApi``, functions in-process)
over every route in ``template.yaml``:

Each sweep holds the property of the kind of route it sweeps (tests/e2e/route_classes.py: cart,
admin, service, public, decided from the template; a route of no known kind fails the sweeps):

- an access matrix of guest A, guest B, user C, user D and an administrator: another owner's cart,
  items, saved items, discount codes, lists, list items and share links are 404 (never 403, never
  their data); every admin route is
  the administrator's alone (403 for users, 401 for guests, before anything else);
- forged, tampered, expired, wrong-issuer and wrong-client tokens are 401 ``invalid_token`` on
  every cart and admin route, never a fall back to a guest; the public catalog ignores the
  Authorization header (the same answer as without it, no session); the order service's IAM routes
  start no session either (their Bearer is API Gateway's to refuse in AWS);
- SQL-injection and other hostile strings in every string field (body, path, headers, cookie,
  query) are inert: a 4xx or a 2xx, never a 5xx, and the tables and other owners' rows are intact;
- logs captured over a run of mixed requests (errors, an outage and the sign-in trigger included)
  hold no bearer token, guest token, cookie value, signing key or database password, and no email,
  Cognito sub, stored guest owner key or client address: the operations log's lines (one per
  operation, stock refusals, sync conflicts, merges, reconnects) included.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.test import Client, TestResponse

from local import stack
from local.cognito import LocalCognito
from tests.conftest import FORWARDER_KEY, SIGNING_KEY, json_of, one, own_products
from tests.e2e.route_classes import ADMIN, CART, PUBLIC, ROUTES, SERVICE, route_class, routes_of
from tests.integration.test_signin import MOTO_KEY, claims_for, forge

ADMIN_ROUTE = ("GET", "/admin/carts/abandoned")
PASSWORD = "Correct-horse-9"


# --- the shared fixtures: a catalogue of our own, and shoppers with stocked carts -------------------


@dataclass(frozen=True)
class Catalog:
    """Products and discount codes of this module's own (ample stock: a checkout reserves stock,
    which must never touch the demo catalogue other tests rely on)."""

    products: list[str]
    codes: list[str]  # one per actor, so each actor's cart has a code nobody else applied
    # What the admin and public routes are aimed at, never anything an actor's cart holds: a product
    # of its own with a variant (the catalog edits), a code to retire, the slug of a product page,
    # and a user with a cart whose data may be erased (never one of the module's actors).
    admin_product: str
    admin_variant: str
    spare_code: str
    slug: str
    erasable_user: str


def make_catalog(database_url: str, *, products: int = 3, codes: int = 6) -> Catalog:
    ids = own_products(database_url, "Sec", count=products)
    (admin_product,) = own_products(database_url, "SecAdmin", count=1)
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(database_url, autocommit=True) as conn:
        names = [f"SEC{tag}{i}".upper() for i in range(codes + 1)]
        for name in names:
            conn.execute("insert into discount_code (code, kind, value) values (%s, 'percent', 5)", (name,))
        (variant,) = one(
            conn.execute(
                "insert into product_variant (product_id, sku, attributes, stock) values (%s, %s, %s, 100)"
                " returning id::text",
                (admin_product, f"SEC-{tag}-M", json.dumps({"size": "M"})),
            )
        )
        (slug,) = one(conn.execute("select slug from product where id = %s", (ids[0],)))
        erasable = str(uuid.uuid4())  # a Cognito sub of nobody the tests sign in
        conn.execute("insert into cart (user_id, currency) values (%s, 'USD')", (erasable,))
    return Catalog(ids, names[:codes], admin_product, variant, names[codes], slug, erasable)


@dataclass
class Actor:
    """A client of the API: a guest (its X-Cart-Session) or a signed-in user (its Bearer)."""

    name: str
    api: Client = field(repr=False)
    headers: dict[str, str]
    kind: str  # guest | user | admin
    secrets: list[str] = field(default_factory=list, repr=False)  # what must never be logged
    email: str = ""  # a user's
    sub: str = ""

    def call(self, method: str, path: str, json_body: Any = None, headers: dict[str, str] | None = None,
             **kwargs: Any) -> TestResponse:  # fmt: skip
        if json_body is not None:
            kwargs["json"] = json_body
        return self.api.open(path, method=method, headers={**self.headers, **(headers or {})}, **kwargs)

    def cart(self) -> dict[str, Any]:
        reply = self.call("GET", "/cart")
        assert reply.status_code == 200, reply.get_data(as_text=True)
        return json_of(reply)


@dataclass
class Holdings:
    """What an actor's cart holds (and their lists, a list item and a share link of their cart: issue
    23): the ids another owner will try."""

    cart_id: str
    item_id: str
    saved_id: str | None
    code: str
    list_id: str | None = None
    list_item_id: str | None = None
    share_id: str | None = None
    share_token: str | None = None

    def ids(self) -> set[str]:
        owned = (self.saved_id, self.list_id, self.list_item_id, self.share_id)
        return {self.cart_id, self.item_id, *(i for i in owned if i)}


def stock(actor: Actor, catalog: Catalog, code: str) -> Holdings:
    """Bring the actor's cart to a known shape, whatever it is now: the first two products as lines,
    the third saved for later (when the API has saved items), and ``code`` applied."""
    first, second, third = catalog.products[:3]
    saving = ("POST", "/cart/items/{itemId}/save") in ROUTES
    cart = actor.cart()

    def ensure(ok: bool, reply: Callable[[], TestResponse]) -> None:
        nonlocal cart
        if not ok:
            answer = reply()
            assert answer.status_code == 200, answer.get_data(as_text=True)
            cart = actor.cart()

    def line(product: str) -> str | None:
        return next((i["id"] for i in cart["items"] if i["productId"] == product), None)

    def saved(product: str) -> str | None:
        return next((i["id"] for i in cart.get("savedForLater", []) if i["productId"] == product), None)

    ensure(line(first) is not None, lambda: actor.call("POST", "/cart/items", {"productId": first}))
    ensure(line(second) is not None, lambda: actor.call("POST", "/cart/items", {"productId": second}))
    if saving:
        ensure(saved(third) is not None or line(third) is not None,
               lambda: actor.call("POST", "/cart/items", {"productId": third}))  # fmt: skip
        ensure(saved(third) is not None, lambda: actor.call("POST", f"/cart/items/{line(third)}/save"))
    ensure(any(d["code"] == code for d in cart.get("discountCodes", [])),
           lambda: actor.call("POST", "/cart/discount-codes", {"code": code}))  # fmt: skip
    item_id = line(first)
    assert item_id is not None, cart
    holdings = Holdings(cart["id"], item_id, saved(third) if saving else None, code)
    if ("GET", "/lists") in ROUTES:
        stock_lists(actor, catalog, holdings)
    return holdings


LIST_NAME = "Sec list"


def stock_lists(actor: Actor, catalog: Catalog, holdings: Holdings) -> None:
    """A list named LIST_NAME holding an item, and a live share link of the cart (issue 23), whatever
    the actor has now."""

    def ok(reply: TestResponse) -> Any:
        assert reply.status_code in (200, 201), reply.get_data(as_text=True)
        return json_of(reply)

    listed = next((x for x in ok(actor.call("GET", "/lists"))["lists"] if x["name"] == LIST_NAME), None)
    list_id = listed["id"] if listed else ok(actor.call("POST", "/lists", {"name": LIST_NAME}))["id"]
    items = ok(actor.call("GET", f"/lists/{list_id}"))["items"]
    if not items:
        items = ok(actor.call("POST", f"/lists/{list_id}/items", {"productId": catalog.products[2]}))["items"]
    links = ok(actor.call("GET", "/shares"))["links"]
    link = links[0] if links else ok(actor.call("POST", "/cart/share", {}))
    holdings.list_id, holdings.list_item_id = list_id, items[0]["id"]
    holdings.share_id, holdings.share_token = link["shareId"], link["token"]


def request_for(method: str, path: str, holdings: Holdings, catalog: Catalog) -> tuple[str, Any]:
    """A valid request for the route (the path with its ids, a body): a cart route's aimed at
    ``holdings``, an admin or public route's at the catalog's own products, code and erasable user
    (never at what an actor holds), a service route's at a checkout nobody opened."""
    kind = route_class(method, path)
    params = {
        "itemId": holdings.item_id,
        "savedId": holdings.saved_id,
        "code": holdings.code if kind == CART else catalog.spare_code,  # the admin route retires it
        "productId": catalog.admin_product,
        "variantId": catalog.admin_variant,
        "slug": catalog.slug,
        "userId": catalog.erasable_user,
        "checkoutId": str(uuid.uuid4()),  # no such checkout: 404 checkout_not_found, as documented
        "listId": holdings.list_id,
        "listItemId": holdings.list_item_id,
        "shareId": holdings.share_id,
        "token": holdings.share_token,  # GET /shared/{token}: the holder's cart, as anyone may read it
    }

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        assert params.get(name), f"a new path parameter {name!r}: teach request_for() about it"
        return urllib.parse.quote(str(params[name]), safe="")

    fresh = uuid.uuid4().hex[:10]
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/cart/items"): {"productId": catalog.products[0], "quantity": 1},
        ("PATCH", "/cart/items/{itemId}"): {"quantity": 2},
        ("POST", "/cart/discount-codes"): {"code": holdings.code},
        ("POST", "/cart/sync"): {"items": [{"productId": catalog.products[0], "quantity": 1}]},
        ("POST", "/cart/items/bulk"): {"changes": [{"op": "set", "itemId": holdings.item_id, "quantity": 2},
                                                   {"op": "add", "productId": catalog.products[1]}]},
        # An order nobody completed: 404 order_not_found for a user (a guest is sent to sign in).
        ("POST", "/cart/reorder"): {"orderId": f"sec-order-{fresh}"},
        ("POST", "/cart/checkout"): {},
        ("POST", "/cart/prices/accept"): {"items": [{"itemId": holdings.item_id}]},
        # A link this API signed, for a cart that does not exist: past the link's own check, so the
        # caller's session is read (a bad bearer is 401), and then nobody's cart to recover.
        ("POST", "/cart/recover"): {"token": recovery_token(uuid.uuid4())},
        ("POST", "/admin/products"): {"name": f"Sec new {fresh}", "slug": f"sec-new-{fresh}", "price": 100,
                                      "currency": "USD"},
        ("PATCH", "/admin/products/{productId}"): {"name": f"Sec admin {fresh}"},
        ("PUT", "/admin/products/{productId}/stock"): {"stock": 100},  # 422 variant_required: it has variants
        ("POST", "/admin/products/{productId}/variants"): {"sku": f"SEC-{fresh}", "attributes": {"size": fresh}},
        ("PATCH", "/admin/variants/{variantId}"): {"price": 150},
        ("PUT", "/admin/variants/{variantId}/stock"): {"stock": 100},
        ("POST", "/admin/discount-codes"): {"code": f"SECNEW{fresh}", "kind": "percent", "value": 5},
        ("POST", "/checkouts/{checkoutId}/complete"): {"orderId": f"sec-order-{fresh}"},
        ("POST", "/checkouts/{checkoutId}/release"): {"reason": "cancelled"},
        # issue 23: lists and share links (a rename keeps the name stock() finds the list by)
        ("POST", "/lists"): {"name": f"Sec {fresh}"},
        ("PATCH", "/lists/{listId}"): {"name": LIST_NAME},
        ("POST", "/lists/{listId}/items"): {"productId": catalog.products[0], "quantity": 1},
        ("POST", "/cart/items/{itemId}/move-to-list"): {"listId": holdings.list_id},
        ("POST", "/cart/save-as-list"): {"name": f"Sec saved {fresh}"},
        ("POST", "/cart/share"): {},
        ("POST", "/lists/{listId}/share"): {},
        ("POST", "/cart/copy-shared"): {"token": holdings.share_token},
    }  # fmt: skip
    return re.sub(r"\{(\w+)\}", fill, path), bodies.get((method, path))


def recovery_token(cart_id: uuid.UUID) -> str:
    """A recovery link's token as the API signs it (the functions run in this process, with its
    settings), for ``cart_id`` as abandoned now."""
    from cart_common import recovery

    return recovery.mint(cart_id, datetime.now(UTC))


@pytest.fixture(scope="module")
def local_api() -> Iterator[stack.LocalApi]:
    invoker = stack.make_invoker(workers=0)
    yield stack.LocalApi(invoker, stack.dev_routes())
    invoker.close()


@pytest.fixture(scope="module")
def catalog(database_url: str) -> Catalog:
    return make_catalog(database_url)


def new_guest(local_api: stack.LocalApi, name: str) -> Actor:
    api = Client(local_api, use_cookies=False)
    token = api.get("/cart").headers["X-Cart-Session"]
    return Actor(name, api, {"X-Cart-Session": token}, "guest", [token])


def new_user(local_api: stack.LocalApi, cognito: LocalCognito, name: str, *, admin: bool = False) -> Actor:
    slug = re.sub(r"\W+", "-", name.lower())
    email = f"sec-{slug}-{uuid.uuid4().hex[:8]}@example.com"
    cognito.sign_up(email, PASSWORD)
    if admin:
        client = cognito.client()
        with contextlib.suppress(client.exceptions.GroupExistsException):
            client.create_group(GroupName="admin", UserPoolId=cognito.user_pool_id)
        client.admin_add_user_to_group(UserPoolId=cognito.user_pool_id, Username=email, GroupName="admin")
    tokens = cognito.sign_in(email, PASSWORD)
    return Actor(
        name, Client(local_api, use_cookies=False), {"Authorization": f"Bearer {tokens['AccessToken']}"},
        "admin" if admin else "user", [tokens["AccessToken"], tokens["IdToken"], tokens["RefreshToken"]],
        email, jwt.decode(tokens["AccessToken"], options={"verify_signature": False})["sub"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def actors(local_api: stack.LocalApi, cognito: LocalCognito) -> dict[str, Actor]:
    return {
        "guest A": new_guest(local_api, "guest A"),
        "guest B": new_guest(local_api, "guest B"),
        "user C": new_user(local_api, cognito, "user C"),
        "user D": new_user(local_api, cognito, "user D"),
        "admin": new_user(local_api, cognito, "admin", admin=True),
    }


@pytest.fixture(scope="module")
def holdings(actors: dict[str, Actor], catalog: Catalog) -> dict[str, Holdings]:
    return {name: stock(actor, catalog, catalog.codes[i]) for i, (name, actor) in enumerate(actors.items())}


def assert_problem(reply: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    assert reply.status_code == status, (reply.status_code, reply.get_data(as_text=True))
    assert reply.headers["Content-Type"] == "application/problem+json"
    body = json_of(reply)
    assert body["status"] == status and body["type"] == f"/problems/{body['code']}" and body["detail"]
    if code:
        assert body["code"] == code, body
    return body


def snapshot(sql: psycopg.Connection, cart_ids: list[str]) -> list[tuple]:
    """Everything stored for these carts, in a stable order."""
    return sql.execute(
        "select c.id::text, c.version, c.status, c.session_id, c.user_id,"
        " coalesce((select jsonb_agg(jsonb_build_array(i.id, i.product_id, i.quantity, i.selected_attributes,"
        "                                          i.updated_at) order by i.id)"
        "           from cart_item i where i.cart_id = c.id), '[]'),"
        " coalesce((select jsonb_agg(d.code order by d.code) from cart_discount d where d.cart_id = c.id), '[]'),"
        " coalesce((select jsonb_agg(jsonb_build_array(s.id, s.product_id, s.quantity) order by s.id)"
        "           from saved_item s where s.cart_id = c.id), '[]'),"
        # the owner's lists, their items and share links (issue 23)
        " coalesce((select jsonb_agg(jsonb_build_array(l.id, l.version, l.name,"
        "           (select jsonb_agg(jsonb_build_array(li.id, li.quantity) order by li.id) from list_item li"
        "            where li.list_id = l.id)) order by l.id)"
        "           from shopping_list l where l.user_id = c.user_id or l.session_id = c.session_id), '[]'),"
        " coalesce((select jsonb_agg(k.id order by k.id) from share_link k"
        "           where k.user_id = c.user_id or k.session_id = c.session_id), '[]')"
        " from cart c where c.id = any(%s::uuid[]) order by c.id",
        (cart_ids,),
    ).fetchall()


# --- 1. the access matrix -----------------------------------------------------------------------


def test_every_route_of_the_template_has_a_kind() -> None:
    """Every sweep below holds the property of a kind of route: a route of no known kind would be
    swept with the wrong one (or none), so it fails here, named, until someone classifies it."""
    kinds = {f"{m} {p}": route_class(m, p) for m, p in ROUTES}
    assert set(kinds.values()) <= {CART, ADMIN, SERVICE, PUBLIC}
    assert all(routes_of(kind) for kind in (CART, ADMIN, SERVICE, PUBLIC)), kinds


# The access matrix and "acts on the caller's own cart" are the cart routes': only they act on an
# owner's cart, items, saved items and codes. The admin routes (the administrator's alone), the
# order service's IAM routes and the public catalog have sweeps of their own below.
CART_ROUTES = routes_of(CART)
# The routes that name a line or code of the cart: in the path, or in the body (request_for() aims
# each at the holdings it is given).
BODY_ID_ROUTES = [("POST", "/cart/prices/accept")]
PARAM_ROUTES = [(m, p) for m, p in CART_ROUTES if "{" in p] + [r for r in BODY_ID_ROUTES if r in CART_ROUTES]
RECOVER_ROUTE = ("POST", "/cart/recover")
NOT_FOUND_CODES = {
    "item_not_found",
    "saved_item_not_found",
    "discount_code_not_applied",
    "list_not_found",
    "list_item_not_found",
    "share_not_found",
}


def test_another_owners_cart_items_and_codes_are_404_never_403_never_their_data(
    actors: dict[str, Actor], holdings: dict[str, Holdings], catalog: Catalog, database_url: str
) -> None:
    """Every actor tries every route that names a resource with every other actor's ids."""
    assert PARAM_ROUTES, "the template has routes with path parameters"
    with psycopg.connect(database_url, autocommit=True) as sql:
        before = snapshot(sql, [h.cart_id for h in holdings.values()])
        for attacker_name, attacker in actors.items():
            for victim_name, victim in holdings.items():
                if victim_name == attacker_name:
                    continue
                for method, path in PARAM_ROUTES:
                    target, body = request_for(method, path, victim, catalog)
                    reply = attacker.call(method, target, body)
                    label = f"{attacker_name} → {victim_name}'s {method} {path}"
                    problem = assert_problem(reply, 404)
                    assert problem["code"] in NOT_FOUND_CODES, (label, problem)
                    text = reply.get_data(as_text=True)
                    assert victim.cart_id not in text, label  # nothing of the victim's cart comes back
                    named = {v for k, v in (("{itemId}", victim.item_id), ("{savedId}", victim.saved_id),
                                            ("{listId}", victim.list_id), ("{listItemId}", victim.list_item_id),
                                            ("{shareId}", victim.share_id)) if k in path}  # fmt: skip
                    if (method, path) in BODY_ID_ROUTES:
                        named.add(victim.item_id)  # the line the body named, echoed as not found
                    assert not any(other in text for other in victim.ids() - named), label  # only what was asked
                    assert "ETag" not in reply.headers, label
        after = snapshot(sql, [h.cart_id for h in holdings.values()])
    assert after == before  # no one's cart changed


@pytest.mark.parametrize(("method", "path"), CART_ROUTES, ids=lambda v: v)
def test_every_cart_route_acts_on_the_callers_own_cart(
    actors: dict[str, Actor],
    holdings: dict[str, Holdings],
    catalog: Catalog,
    database_url: str,
    method: str,
    path: str,
) -> None:
    """The same route, called by each actor with its own ids, answers with (or about) the caller's
    own cart only, and leaves every other cart as it was."""
    for name, actor in actors.items():
        mine = holdings[name]
        others = {other: h for other, h in holdings.items() if other != name}
        with psycopg.connect(database_url, autocommit=True) as sql:
            before = snapshot(sql, [h.cart_id for h in others.values()])
            target, body = request_for(method, path, mine, catalog)
            reply = actor.call(method, target, body)
            after = snapshot(sql, [h.cart_id for h in others.values()])
        assert reply.status_code < 500, (name, reply.get_data(as_text=True))
        assert reply.status_code != 403, name
        if (method, path) == RECOVER_ROUTE:
            # A well-formed link to a cart nobody has: refused as a problem, whoever asks.
            assert_problem(reply, reply.status_code)
            assert 400 <= reply.status_code < 500, (name, reply.status_code)
        text = reply.get_data(as_text=True)
        for other in others.values():
            assert not (other.ids() & set(re.findall(r"[0-9a-f-]{36}", text))), (name, method, path)
        assert after == before, (name, method, path)
        holdings[name] = stock(actor, catalog, mine.code)


@pytest.mark.parametrize(("method", "path"), routes_of(ADMIN), ids=lambda v: v)
def test_every_admin_route_is_for_administrators_only(
    actors: dict[str, Actor],
    holdings: dict[str, Holdings],
    catalog: Catalog,
    database_url: str,
    method: str,
    path: str,
) -> None:
    """Guests 401 (and no guest session started), signed-in users 403, both before the body or the
    parameters are read (the guard runs first); the administrator passes the guard: a 2xx, or a 4xx
    problem about the request itself (never 401/403). No actor's cart moves."""
    assert ADMIN_ROUTE in routes_of(ADMIN)
    for name, actor in actors.items():
        target, body = request_for(method, path, holdings[name], catalog)
        with psycopg.connect(database_url, autocommit=True) as sql:
            before = snapshot(sql, [h.cart_id for h in holdings.values()])
            reply = actor.call(method, target, body)
            after = snapshot(sql, [h.cart_id for h in holdings.values()])
            (left,) = one(sql.execute("select count(*) from cart where user_id = %s", (catalog.erasable_user,)))
        label = f"{name}: {method} {path}"
        if actor.kind == "guest":
            assert_problem(reply, 401, "authentication_required")
            assert reply.headers["WWW-Authenticate"].startswith("Bearer"), label
            assert "X-Cart-Session" not in reply.headers and "Set-Cookie" not in reply.headers, label
        elif actor.kind == "user":
            assert_problem(reply, 403, "forbidden")
        else:
            assert reply.status_code < 500 and reply.status_code not in (401, 403), (
                label,
                reply.get_data(as_text=True),
            )
            if reply.status_code >= 400:
                assert_problem(reply, reply.status_code)
            else:
                assert reply.headers["Content-Type"].startswith("application/json"), label
            if (method, path) == ADMIN_ROUTE:
                assert reply.status_code == 200 and {"carts", "total"} <= set(json_of(reply)), label
            if path == "/admin/users/{userId}/data":
                assert reply.status_code == 200 and json_of(reply)["userId"] == catalog.erasable_user, label
        if path == "/admin/users/{userId}/data":  # only the administrator's erasure removes the user's cart
            assert left == (0 if actor.kind == "admin" else 1), label
        assert after == before, label  # and no actor's cart moves
    target, _ = request_for(method, path, holdings["guest A"], catalog)
    anonymous = Client(actors["guest A"].api.application, use_cookies=False).open(target, method=method)
    assert_problem(anonymous, 401, "authentication_required")
    assert "Set-Cookie" not in anonymous.headers  # an admin route never starts a guest session


def test_a_guest_token_of_another_owner_in_the_cookie_does_not_open_the_header_owners_cart(
    actors: dict[str, Actor], holdings: dict[str, Holdings]
) -> None:
    """The header wins over the cookie: A's header with B's cookie is A's cart, and never both."""
    a, b = actors["guest A"], actors["guest B"]
    reply = a.api.get("/cart", headers={**a.headers, "Cookie": f"cart_session={b.headers['X-Cart-Session']}"})
    assert reply.status_code == 200 and json_of(reply)["id"] == holdings["guest A"].cart_id


# --- 2. bad tokens ------------------------------------------------------------------------------------


def _attacker_key_token(claims: dict[str, Any]) -> str:
    """Right claims, right kid, signed with a key that is not the pool's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": MOTO_KEY.get("kid", "dummy")})


def _flipped_signature(token: str) -> str:
    return token[:-4] + ("BBBB" if token.endswith("AAAA") else "AAAA")


def _tampered(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload)) | changes
    return ".".join([header, jwt.utils.base64url_encode(json.dumps(claims).encode()).decode(), signature])


BAD_TOKENS: dict[str, Callable[[Any, LocalCognito], str]] = {
    "forged with another key": lambda u, c: _attacker_key_token(claims_for(u, c)),
    "tampered payload (another sub)": lambda u, c: _tampered(u.access_token_value, sub=str(uuid.uuid4())),
    "tampered signature": lambda u, c: _flipped_signature(u.access_token_value),
    "expired": lambda u, c: forge(claims_for(u, c, exp=int(time.time()) - 60, iat=int(time.time()) - 3700)),
    "wrong issuer": lambda u, c: forge(
        claims_for(u, c, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_evil")
    ),
    "wrong client": lambda u, c: forge(claims_for(u, c, client_id="another-app-client")),
    "id token for another client": lambda u, c: forge(
        claims_for(u, c, token_use="id", client_id=None, aud="another-app-client")
    ),
    # key "": PyJWT's typed spelling of no key, which alg "none" requires (it turns "" into None)
    "alg none": lambda u, c: jwt.encode(claims_for(u, c), key="", algorithm="none", headers={"kid": "dummy"}),
    "refresh token": lambda u, c: u.refresh_token_value,
    "garbage": lambda u, c: "not-a-token",
}


@dataclass
class _TokenOwner:
    """What claims_for() and the token builders need of a user."""

    sub: str
    email: str
    access_token_value: str
    refresh_token_value: str


@pytest.fixture(scope="module")
def token_owner(actors: dict[str, Actor]) -> _TokenOwner:
    d = actors["user D"]
    return _TokenOwner(d.sub, d.email, d.secrets[0], d.secrets[2])


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_bad_tokens_are_401_on_every_route_never_a_guest(
    local_api: stack.LocalApi,
    cognito: LocalCognito,
    token_owner: _TokenOwner,
    holdings: dict[str, Holdings],
    catalog: Catalog,
    database_url: str,
    case: str,
) -> None:
    token = BAD_TOKENS[case](token_owner, cognito)
    victim = holdings["user D"]  # the token names user D: nothing of D's may move
    client = Client(local_api, use_cookies=False)
    swept: dict[str, list[tuple[str, str]]] = {CART: [], ADMIN: [], PUBLIC: [], SERVICE: []}
    with psycopg.connect(database_url, autocommit=True) as sql:
        before = snapshot(sql, [victim.cart_id])
        for method, path in ROUTES:
            kind = route_class(method, path)  # a route of no known kind fails here, named
            target, body = request_for(method, path, victim, catalog)
            kwargs = {"json": body} if body is not None else {}
            reply = client.open(target, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs)
            label = f"{case}: {method} {path} ({kind})"
            assert reply.status_code < 500, (label, reply.get_data(as_text=True))
            assert "X-Cart-Session" not in reply.headers, label  # no silent fall back to a guest session
            assert not any(c.startswith("cart_session=v1.") for c in reply.headers.getlist("Set-Cookie")), label
            if kind in (CART, ADMIN):
                # The caller is whoever the bearer names: a bad one is refused, never a guest.
                assert reply.status_code == 401, (label, reply.get_data(as_text=True))
                assert_problem(reply, 401, "invalid_token")
                assert reply.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"'), label
            elif kind == PUBLIC:
                # The public catalog reads no Authorization at all: the same answer as without it,
                # and no session (no cookie of any kind, no X-Cart-Session).
                plain = client.open(target, method=method, **kwargs)
                assert reply.status_code == plain.status_code == 200, (label, reply.get_data(as_text=True))
                assert reply.get_data() == plain.get_data(), label
                assert reply.headers.get("ETag") == plain.headers.get("ETag"), label
                assert "Set-Cookie" not in reply.headers, label
            else:
                # The order service's routes: in AWS, API Gateway's AWS_IAM authorizer refuses a
                # request without a SigV4 signature (a Bearer is none) before the function runs;
                # that the template's routes carry it is held by tests/integration/test_template_events.py
                # (test_the_completion_routes_are_signed_with_iam_and_the_cart_routes_are_not).
                # Locally nothing signs or checks requests, so there is no 401 to hold here: these
                # routes are out of the Bearer sweep. What the function holds is held above (no
                # session) and in test_the_service_routes_read_no_bearer_and_start_no_session.
                assert kind == SERVICE, label
            swept[kind].append((method, path))
        assert snapshot(sql, [victim.cart_id]) == before
    assert swept[SERVICE] == routes_of(SERVICE) and swept[PUBLIC] == routes_of(PUBLIC)


@pytest.mark.parametrize(("method", "path"), routes_of(SERVICE), ids=lambda v: v)
def test_the_service_routes_read_no_bearer_and_start_no_session(
    actors: dict[str, Actor],
    holdings: dict[str, Holdings],
    catalog: Catalog,
    database_url: str,
    method: str,
    path: str,
) -> None:
    """The order service's IAM routes (API Gateway checks the SigV4 signature in AWS) answer the same
    whoever the Bearer or guest session names, and start no session: the caller's credentials are
    not theirs to read. A checkout nobody opened is 404 checkout_not_found for everyone."""
    target, body = request_for(method, path, holdings["guest A"], catalog)
    client = Client(actors["guest A"].api.application, use_cookies=False)
    anonymous = client.open(target, method=method, json=body)
    assert_problem(anonymous, 404, "checkout_not_found")
    with psycopg.connect(database_url, autocommit=True) as sql:
        before = snapshot(sql, [h.cart_id for h in holdings.values()])
        for name, actor in actors.items():
            reply = actor.call(method, target, body)
            assert (reply.status_code, json_of(reply)) == (anonymous.status_code, json_of(anonymous)), name
            assert "X-Cart-Session" not in reply.headers and "Set-Cookie" not in reply.headers, name
        assert snapshot(sql, [h.cart_id for h in holdings.values()]) == before
    assert "X-Cart-Session" not in anonymous.headers and "Set-Cookie" not in anonymous.headers


@pytest.mark.parametrize(("method", "path"), routes_of(PUBLIC), ids=lambda v: v)
def test_the_public_catalog_routes_are_cacheable_and_start_no_session(
    actors: dict[str, Actor], holdings: dict[str, Holdings], catalog: Catalog, method: str, path: str
) -> None:
    """No auth and no session: anonymous callers, guests and users get the same cacheable 200, and
    no cookie or X-Cart-Session is handed out (a CDN may cache it for everyone)."""
    target, _ = request_for(method, path, holdings["guest A"], catalog)
    anonymous = Client(actors["guest A"].api.application, use_cookies=False).open(target, method=method)
    assert anonymous.status_code == 200, anonymous.get_data(as_text=True)
    assert anonymous.headers["ETag"] and anonymous.headers["Cache-Control"]
    for name, actor in actors.items():
        reply = actor.call(method, target)
        assert reply.status_code == 200 and reply.get_data() == anonymous.get_data(), name
        assert "X-Cart-Session" not in reply.headers and "Set-Cookie" not in reply.headers, name


def test_the_token_helpers_are_sound(
    local_api: stack.LocalApi, cognito: LocalCognito, token_owner: _TokenOwner
) -> None:
    """The same claims signed with the pool's own key are accepted: only the defect is refused."""
    token = forge(claims_for(token_owner, cognito))
    reply = Client(local_api).get("/cart", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200


# --- 3. hostile strings ---------------------------------------------------------------------------

PAYLOADS = {
    "or-1=1": "' OR 1=1 --",
    "drop-table": "'; drop table cart; --",
    "union": "x' union select id::text, session_id from cart --",
    "sleep": "'; select pg_sleep(5); --",
    "nul": "\x00",
    "backslash-x00": "\\x00",
    "percent-00": "%00",
    "long": "A" * 20_000,
    "unicode": "😀🛒 ünïcødé \u202e\u200b ẞ",
    "json-breaker": '"}]}\\',
    "dollar-quote": "$$; drop table cart_item; $$",
    "path": "../../../etc/passwd",
    "jndi": "${jndi:ldap://127.0.0.1/x}",
}

POST_ITEMS, PATCH_ITEM = ("POST", "/cart/items"), ("PATCH", "/cart/items/{itemId}")
BULK = ("POST", "/cart/items/bulk")


@dataclass(frozen=True)
class Target:
    """A string field of a request: where a payload goes, and as whom the request is sent
    ("attacker": its guest session; "nobody": only the headers given; "admin": the admin's token)."""

    name: str
    route: tuple[str, str]
    request: Callable[[Holdings, Catalog, str], dict[str, Any]]  # path, json / data, headers, query_string
    sender: str = "attacker"


def q(payload: str) -> str:
    return urllib.parse.quote(payload, safe="")


def _line(c: Catalog, **extra: Any) -> dict[str, Any]:
    return {"json": {"productId": c.products[0], **extra}}


def _query(name: str) -> Callable[[Holdings, Catalog, str], dict[str, Any]]:
    """The payload as the admin listing's query parameter ``name``."""
    return lambda h, c, p: {"query_string": {name: p}}


TARGETS = [
    Target("body productId", POST_ITEMS, lambda h, c, p: {"json": {"productId": p}}),
    Target("body variantId", POST_ITEMS, lambda h, c, p: _line(c, variantId=p)),
    Target("body quantity", POST_ITEMS, lambda h, c, p: _line(c, quantity=p)),
    Target("body attributes key", POST_ITEMS, lambda h, c, p: _line(c, attributes={p: "x"})),
    Target("body attributes value", POST_ITEMS, lambda h, c, p: _line(c, attributes={"engraving": p})),
    Target("body field name", POST_ITEMS, lambda h, c, p: {"json": {"productId": c.products[0], p: 1}}),
    Target("raw body", POST_ITEMS, lambda h, c, p: {"data": p.encode(), "content_type": "application/json"}),
    Target(
        "body update quantity",
        PATCH_ITEM,
        lambda h, c, p: {"path": f"/cart/items/{h.item_id}", "json": {"quantity": p}},
    ),
    Target(
        "body update variantId",
        PATCH_ITEM,
        lambda h, c, p: {"path": f"/cart/items/{h.item_id}", "json": {"variantId": p}},
    ),
    Target("body discount code", ("POST", "/cart/discount-codes"), lambda h, c, p: {"json": {"code": p}}),
    Target(
        "body sync productId",
        ("POST", "/cart/sync"),
        lambda h, c, p: {"json": {"items": [{"productId": p, "quantity": 1}]}},
    ),
    Target("body bulk op", BULK, lambda h, c, p: {"json": {"changes": [{"op": p, "productId": c.products[0]}]}}),
    Target(
        "body bulk itemId", BULK, lambda h, c, p: {"json": {"changes": [{"op": "set", "itemId": p, "quantity": 1}]}}
    ),
    Target(
        "body bulk attributes value",
        BULK,
        lambda h, c, p: {"json": {"changes": [{"op": "add", "productId": c.products[0], "attributes": {"note": p}}]}},
    ),
    # a signed-in shopper's (a guest is sent to sign in before the order is looked up)
    Target("body reorder orderId", ("POST", "/cart/reorder"), lambda h, c, p: {"json": {"orderId": p}}, "admin"),
    Target(
        "body checkout acceptPriceChanges",
        ("POST", "/cart/checkout"),
        lambda h, c, p: {"json": {"acceptPriceChanges": p}},
    ),
    Target(
        "body accept itemId",
        ("POST", "/cart/prices/accept"),
        lambda h, c, p: {"json": {"items": [{"itemId": p}]}},
    ),
    Target(
        "body accept unitPrice",
        ("POST", "/cart/prices/accept"),
        lambda h, c, p: {"json": {"items": [{"itemId": h.item_id, "unitPrice": p}]}},
    ),
    Target("path itemId (PATCH)", PATCH_ITEM, lambda h, c, p: {"path": f"/cart/items/{q(p)}", "json": {"quantity": 1}}),
    Target("path itemId (DELETE)", ("DELETE", "/cart/items/{itemId}"), lambda h, c, p: {"path": f"/cart/items/{q(p)}"}),
    Target(
        "path itemId (save)",
        ("POST", "/cart/items/{itemId}/save"),
        lambda h, c, p: {"path": f"/cart/items/{q(p)}/save"},
    ),
    Target(
        "path savedId",
        ("POST", "/cart/saved/{savedId}/restore"),
        lambda h, c, p: {"path": f"/cart/saved/{q(p)}/restore"},
    ),
    Target(
        "path code", ("DELETE", "/cart/discount-codes/{code}"), lambda h, c, p: {"path": f"/cart/discount-codes/{q(p)}"}
    ),
    Target(
        "header X-Cart-Session", POST_ITEMS, lambda h, c, p: {**_line(c), "headers": {"X-Cart-Session": p}}, "nobody"
    ),
    Target(
        "cookie cart_session",
        POST_ITEMS,
        lambda h, c, p: {**_line(c), "headers": {"Cookie": f"cart_session={q(p)}"}},
        "nobody",
    ),
    Target(
        "header Authorization",
        ("GET", "/cart"),
        lambda h, c, p: {"headers": {"Authorization": f"Bearer {p}"}},
        "nobody",
    ),
    Target("header Idempotency-Key", POST_ITEMS, lambda h, c, p: {**_line(c), "headers": {"Idempotency-Key": p}}),
    Target("header If-Match", POST_ITEMS, lambda h, c, p: {**_line(c), "headers": {"If-Match": p}}),
    *[
        Target(f"query {name} (admin)", ADMIN_ROUTE, _query(name), "admin")
        for name in ("minValue", "since", "limit", "offset")
    ],
]


def _sendable(target: Target, payload: str) -> bool:
    """A header value with a NUL cannot be sent at all (werkzeug refuses it, as API Gateway and any
    HTTP client would); the cookie carries it percent-encoded."""
    return not (target.name.startswith("header") and "\x00" in PAYLOADS[payload])


def _cases() -> list[Any]:
    return [
        pytest.param(t, key, id=f"{t.name}-{key}")
        for t in TARGETS
        if t.route in ROUTES
        for key in PAYLOADS
        if _sendable(t, key)
    ]


def send(target: Target, attacker: Actor, admin: Actor, holdings: Holdings, catalog: Catalog, payload: str) -> Any:
    request = target.request(holdings, catalog, payload)
    identity = {"attacker": attacker.headers, "admin": admin.headers, "nobody": {}}[target.sender]
    path = request.pop("path", target.route[1])
    headers = {**identity, **request.pop("headers", {})}
    return attacker.api.open(path, method=target.route[0], headers=headers, **request)


@pytest.fixture(scope="module")
def attacker(local_api: stack.LocalApi) -> Actor:
    return new_guest(local_api, "attacker")


@pytest.fixture(scope="module")
def attacker_holdings(attacker: Actor, catalog: Catalog) -> Holdings:
    return stock(attacker, catalog, catalog.codes[5])


@pytest.fixture(scope="module")
def bystanders(holdings: dict[str, Holdings], database_url: str) -> tuple[Any, ...]:
    """Every other owner's carts, the tables and the catalogue before the hostile strings (compared
    after them by ``test_after_the_hostile_strings_every_table_and_every_other_cart_is_intact``)."""
    with psycopg.connect(database_url, autocommit=True) as sql:
        return _world(sql, holdings)


def _world(sql: psycopg.Connection, holdings: dict[str, Holdings]) -> tuple[Any, ...]:
    return snapshot(sql, [h.cart_id for h in holdings.values()]), _tables(sql), _catalog_rows(sql)


def _tables(sql: psycopg.Connection) -> list[tuple]:
    return sql.execute(
        "select table_name from information_schema.tables where table_schema = 'public' order by 1"
    ).fetchall()


def _catalog_rows(sql: psycopg.Connection) -> list[tuple]:
    return sql.execute(
        "select (select count(*) from product), (select count(*) from product_variant),"
        " (select count(*) from discount_code), (select sum(stock) from product)"
    ).fetchall()


@pytest.mark.parametrize(("target", "payload"), _cases())
def test_hostile_strings_in_every_field_are_inert(
    attacker: Actor,
    attacker_holdings: Holdings,
    actors: dict[str, Actor],
    catalog: Catalog,
    bystanders: Any,
    target: Target,
    payload: str,
) -> None:
    value = PAYLOADS[payload]
    started = time.monotonic()
    reply = send(target, attacker, actors["admin"], attacker_holdings, catalog, value)
    elapsed = time.monotonic() - started
    text = reply.get_data(as_text=True)
    assert reply.status_code < 500, (reply.status_code, text[:500])
    assert elapsed < 4, f"{elapsed:.1f}s: did a pg_sleep run?"
    if reply.status_code == 404 and reply.json == {"message": "Not Found"}:
        # API Gateway's own answer: a "/" in a path parameter makes a path no route matches.
        assert target.name.startswith("path") and "/" in value
        return
    if reply.status_code >= 400:
        assert reply.headers["Content-Type"] == "application/problem+json", text[:300]
        problem = reply.json
        assert problem["status"] == reply.status_code and problem["code"]
        echoed = text.replace(json.dumps(value)[1:-1], "")  # the payload may be named back as the field
        assert not any(leak in echoed for leak in ("Traceback", "psycopg", "syntax error", "pg_", "SQL")), text[:300]
    else:
        assert reply.headers["Content-Type"].startswith("application/json")


def test_after_the_hostile_strings_every_table_and_every_other_cart_is_intact(
    bystanders: tuple[Any, ...], holdings: dict[str, Holdings], database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as sql:
        assert _world(sql, holdings) == bystanders
        assert {"cart", "cart_item", "product", "discount_code"} <= {name for (name,) in _tables(sql)}


# --- 4. nothing secret in the logs ----------------------------------------------------------------


def _pieces(secret: str) -> set[str]:
    """The secret, and the parts of it that identify it on their own (a JWT's signature, a guest
    token's random part and signature), in case something logs a token in pieces."""
    parts = {secret}
    if secret.count(".") == 2:
        parts |= {piece for piece in secret.split(".")[1:] if len(piece) >= 16}
    return parts


def test_logs_hold_no_token_cookie_signing_key_or_database_password(
    local_api: stack.LocalApi,
    cognito: LocalCognito,
    catalog: Catalog,
    database_url: str,
    fresh_settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A run of mixed requests (successes, 4xx, an outage's 503s, bad tokens, a body that is not
    UTF-8 (a 500 with a logged traceback while that bug lasts, see test_fuzz.py), the lazy merge,
    the sign-in trigger with a valid and a forged guest token, and a trusted forwarder's key) with
    the functions' logger at DEBUG. Beside the secrets, what identifies a shopper must not be in
    clear either: emails, subs, the stored owner key of a guest token, client addresses (a
    ``sourceIp`` of the test's own and the address a forwarder names)."""
    import logging

    from cart_common import trigger
    from cart_common.api import logger as app_logger
    from cart_common.db import Database
    from cart_common.session import TOKEN_VERSION, hash_token
    from local import dev
    from tests.conftest import _reset_layer_state

    # The embedded server trusts local connections, so the password is accepted and never checked.
    password = f"Db-Pass-{uuid.uuid4().hex}"
    monkeypatch.setenv("DATABASE_URL", psycopg.conninfo.make_conninfo(database_url, password=password))
    _reset_layer_state()

    shopper, other = new_user(local_api, cognito, "logs-user"), new_user(local_api, cognito, "logs-other")
    secrets = [SIGNING_KEY, FORWARDER_KEY, password, *shopper.secrets, *other.secrets]
    # What a storefront's server sends for a shopper: the key and the shopper's address.
    forwarded = {"X-Cart-Forwarder-Key": FORWARDER_KEY, "X-Cart-Client-Address": "198.51.100.77"}
    from_afar = {"REMOTE_ADDR": "203.0.113.201"}  # API Gateway's sourceIp for the requests sent with it
    identities = {"forwarded address": "198.51.100.77", "source address": from_afar["REMOTE_ADDR"]}
    identities |= {f"{actor.name} email": actor.email for actor in (shopper, other)}
    identities |= {f"{actor.name} sub": actor.sub for actor in (shopper, other)}
    (scarce,) = own_products(database_url, "Logs", count=1, stock=1)
    owner = _TokenOwner(shopper.sub, shopper.email, shopper.secrets[0], shopper.secrets[2])
    bad = [builder(owner, cognito) for builder in BAD_TOKENS.values()]
    secrets += [token for token in bad if len(token) > 20]
    previous = app_logger.log_level
    app_logger.setLevel("DEBUG")
    caplog.set_level(logging.DEBUG, logger="cart-api")
    caplog.set_level(logging.DEBUG, logger="psycopg")
    capfd.readouterr()
    try:
        guest = Client(local_api, use_cookies=False)

        def remember(reply: TestResponse) -> TestResponse:
            if reply.headers.get("X-Cart-Session"):
                secrets.append(reply.headers["X-Cart-Session"])
            for cookie in reply.headers.getlist("Set-Cookie"):
                value = cookie.split(";", 1)[0].split("=", 1)[1]
                if value:
                    secrets.append(value)
            return reply

        token = remember(guest.get("/cart", environ_base=from_afar)).headers["X-Cart-Session"]
        as_guest = {"X-Cart-Session": token}
        # The operations log's other lines: a stock refusal and a sync conflict, from the address.
        remember(guest.post("/cart/items", json={"productId": scarce, "quantity": 2}, headers=as_guest,
                            environ_base=from_afar))  # fmt: skip
        remember(guest.post("/cart/sync", json={"items": [{"productId": scarce, "quantity": 3}]}, headers=as_guest,
                            environ_base=from_afar))  # fmt: skip
        product = catalog.products[0]
        remember(guest.post("/cart/items", json={"productId": product, "quantity": 2}, headers=as_guest))
        remember(guest.post("/cart/items", json={"productId": product}, headers={"Cookie": f"cart_session={token}"}))
        remember(guest.post("/cart/items", data="{nope", content_type="application/json", headers=as_guest))  # 400
        remember(guest.post("/cart/items", json={"productId": "nope"}, headers=as_guest))  # 422
        remember(guest.patch(f"/cart/items/{uuid.uuid4()}", json={"quantity": 1}, headers=as_guest))  # 404
        remember(guest.delete("/cart", headers={**as_guest, "If-Match": '"999"'}))  # 409
        for _ in range(2):  # the replay answers the stored response
            remember(guest.post("/cart/items", json={"productId": catalog.products[1]},
                                headers={**as_guest, "Idempotency-Key": "logs-1"}))  # fmt: skip
        remember(guest.post("/cart/items", json={"productId": product, "attributes": {"x": "\x00"}}, headers=as_guest))
        remember(guest.post("/cart/items", data=b'{"productId": "\xff"}', content_type="application/json",
                            headers={**as_guest, "Idempotency-Key": "logs-2"}))  # fmt: skip
        remember(guest.post("/cart/checkout", headers=as_guest))  # 401: sign in first
        remember(guest.post("/cart/items", json={"productId": product}, headers=forwarded))  # a new guest, forwarded
        for token_value in bad:
            remember(guest.get("/cart", headers={"Authorization": f"Bearer {token_value}"}))  # 401
        remember(guest.get("/admin/carts/abandoned", headers=shopper.headers))  # 403

        # The sign-in trigger: a valid guest token (merged), a forged one (refused), none.
        user = cognito.client().admin_get_user(UserPoolId=cognito.user_pool_id, Username=shopper.email)
        forged = token[:-6] + "AAAAAA"
        secrets.append(forged)
        for cart_session in (token, forged, None):
            event = dev.post_authentication_event(cognito, user, cart_session)
            assert local_api.invoker.invoke(dev.MERGE_FUNCTION, json.loads(json.dumps(event))) == event

        # The lazy merge: the bearer with another guest's session.
        second = remember(guest.post("/cart/items", json={"productId": product})).headers["X-Cart-Session"]
        remember(guest.get("/cart", headers={**other.headers, "X-Cart-Session": second}))
        remember(guest.post("/cart/merge", headers={**other.headers, "Cookie": f"cart_session={second}"}))
        remember(guest.post("/cart/checkout", json={}, headers=shopper.headers))

        # An outage: the database is unreachable (with a password in the URL); 503 for everyone.
        monkeypatch.setenv(
            "DATABASE_URL", f"postgresql://cart:{password}@127.0.0.1:9/cart?connect_timeout=1&sslmode=disable"
        )
        _reset_layer_state()
        monkeypatch.setattr(trigger, "_database", Database())  # the trigger's own connection, too
        down = remember(guest.post("/cart/items", json={"productId": product}, headers={**as_guest, **forwarded}))
        assert down.status_code == 503 and json_of(down)["code"] == "database_unavailable"
        remember(guest.get("/cart", headers=shopper.headers))
        event = dev.post_authentication_event(cognito, user, token)
        assert local_api.invoker.invoke(dev.MERGE_FUNCTION, json.loads(json.dumps(event))) == event
    finally:
        app_logger.setLevel(previous)
    out, err = capfd.readouterr()
    logged = "\n".join([out, err, caplog.text, *(repr(r.__dict__) for r in caplog.records)])

    # The capture works: the errors above were logged, as JSON lines from Powertools.
    for expected in ("Request failed", "database_unavailable", "Cart merged at sign-in",
                     "Sign-in with an invalid guest cart session", "Cart merge failed at sign-in"):  # fmt: skip
        assert expected in logged, f"{expected!r} was not logged: the capture missed the logs"
    kinds = {getattr(record, "oplog", None) for record in caplog.records}
    for kind in ("operation", "stock_refused", "sync_conflict", "merge", "reconnect"):
        assert kind in kinds, f"no {kind} line of the operations log: the capture missed it"
    leaked = sorted({piece[:12] + "…" for secret in secrets for piece in _pieces(secret) if piece in logged})
    assert not leaked, f"secrets in the logs: {leaked}"
    guest_tokens = [secret for secret in secrets if secret.startswith(f"{TOKEN_VERSION}.")]
    identities |= {f"owner key of guest token {t[:8]}…": hash_token(t) for t in guest_tokens}
    in_clear = sorted(name for name, value in identities.items() if value in logged)
    assert not in_clear, f"in the logs in clear: {in_clear}"
