"""How an operation is driven, three ways, each a client with the same methods (get, add, update,
remove, clear, validate, merge, checkout), so that a section times one call per way and the ratios
compare like with like:

- ``FloorClient``: the operation's own SQL (the ``cart_common.store`` functions, one pipeline each) on a
  raw psycopg connection, no handler: the floor the API is measured against;
- ``HandlerClient``: the Lambda handler in-process with an API Gateway v2 event, warm;
- ``HttpClient``: a request through the local HTTP stack (``serve_local_stack``).

Also the run's signed-in users (LocalCognito) and the fresh guest carts a merge consumes."""

from __future__ import annotations

import json
import secrets
import threading
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg.rows import dict_row

from bench.environment import GUEST_TTL, LIMITS, USER_TTL, guest_owner
from local import stack


@dataclass
class Guest:
    """A guest's cart, made (untimed) for one merge: the token for the API, the owner for the floor."""

    token: str
    owner: Any


class Client(Protocol):
    """What a section drives: one call per operation, the same on every way."""

    def get(self) -> object: ...
    def add(self, product: str) -> str: ...
    def update(self, item: str) -> None: ...
    def remove(self, item: str) -> None: ...
    def clear(self) -> None: ...
    def validate(self) -> None: ...
    def merge(self, guest: Guest) -> None: ...
    def checkout(self) -> None: ...


class FloorClient:
    """The operations' SQL (the ``store`` functions, one pipeline each) on a plain psycopg connection,
    with the bench environment's rules as arguments."""

    def __init__(self, url: str, owner: Any = None, conn: psycopg.Connection[Any] | None = None) -> None:
        from cart_common import store
        from cart_common.session import Owner

        self.store = store
        self.conn: psycopg.Connection[Any] = conn or psycopg.connect(
            url, autocommit=True, prepare_threshold=None, row_factory=dict_row
        )
        self.owner = owner or Owner("guest", secrets.token_hex(32))
        self.change = store.Change(self.owner, USER_TTL if self.owner.kind == "user" else GUEST_TTL)

    def get(self) -> list[dict[str, Any]]:
        return self.store.cart_rows(self.conn, self.owner).lines

    def add(self, product: str) -> str:
        rows = self.store.add_item(
            self.conn,
            self.change,
            product_id=uuid.UUID(product),
            variant_id=None,
            quantity=1,
            attributes={},
            limits=LIMITS,
            default_currency="USD",
        )
        return str(next(r["item_id"] for r in rows.lines if str(r["product_id"]) == product))

    def update(self, item: str) -> None:
        self.store.set_quantity(self.conn, self.change, item_id=uuid.UUID(item), quantity=2, limits=LIMITS)

    def remove(self, item: str) -> None:
        self.store.remove_item(self.conn, self.change, item_id=uuid.UUID(item))

    def clear(self) -> None:
        self.store.clear_cart(self.conn, self.change)

    def validate(self) -> None:
        self.store.validate_cart(self.conn, self.owner, limits=LIMITS)

    def merge(self, guest: Guest) -> None:
        outcome, _ = self.store.merge_cart(
            self.conn, self.owner, guest.owner, strategy="sum", limits=LIMITS, user_ttl_days=USER_TTL
        )
        assert outcome["outcome"] == "merged", outcome

    def checkout(self) -> None:
        opened, _, _ = self.store.reserve_stock(self.conn, self.owner, limits=LIMITS, minutes=15, accept_prices=False)
        assert opened, "the checkout did not open"


class HandlerClient:
    """The Lambda handlers, in-process, with API Gateway v2 events (a guest, or a user with a bearer)."""

    def __init__(self, bearer: str | None = None, load: Callable[[Any], stack.Handler] = stack.load_function) -> None:
        from tests.conftest import Shopper

        self.shopper = Shopper(bearer=bearer, load=load)

    @property
    def token(self) -> str:
        """The guest's session token, which the first add sets (untimed set-up reads it)."""
        assert self.shopper.token, "the guest has no cart yet"
        return self.shopper.token

    def _ok(self, reply: Any) -> Any:
        assert reply.status == 200, reply
        return reply.json

    def get(self) -> dict:
        return self._ok(self.shopper.get())

    def add(self, product: str) -> str:
        cart = self._ok(self.shopper.add(product, 1))
        return next(i["id"] for i in cart["items"] if i["productId"] == product)

    def update(self, item: str) -> None:
        self._ok(self.shopper.update(item, quantity=2))

    def remove(self, item: str) -> None:
        self._ok(self.shopper.remove(item))

    def clear(self) -> None:
        self._ok(self.shopper.clear())

    def validate(self) -> None:
        self._ok(self.shopper.call("POST", "/cart/validate"))

    def merge(self, guest: Guest) -> None:
        self.shopper.token = guest.token  # sent as X-Cart-Session next to the bearer
        try:
            assert self._ok(self.shopper.merge())["merge"]["outcome"] == "merged"
        finally:
            self.shopper.token = None

    def checkout(self) -> None:
        assert self._ok(self.shopper.call("POST", "/cart/checkout"))["checkoutId"]


class HttpClient:
    """Requests through the local HTTP stack (a guest, or a user with a bearer)."""

    def __init__(self, base: str, bearer: str | None = None) -> None:
        self.base = base
        self.bearer = bearer
        self.token: str | None = None

    def _call(self, method: str, path: str, body: dict | None = None, session: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        token = session or self.token
        if token:
            headers["X-Cart-Session"] = token
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            if not self.bearer:
                self.token = response.headers.get("X-Cart-Session", self.token)
            return json.load(response)

    def get(self) -> dict:
        return self._call("GET", "/cart")

    def add(self, product: str) -> str:
        cart = self._call("POST", "/cart/items", {"productId": product, "quantity": 1})
        return next(i["id"] for i in cart["items"] if i["productId"] == product)

    def update(self, item: str) -> None:
        self._call("PATCH", f"/cart/items/{item}", {"quantity": 2})

    def remove(self, item: str) -> None:
        self._call("DELETE", f"/cart/items/{item}")

    def clear(self) -> None:
        self._call("DELETE", "/cart")

    def validate(self) -> None:
        self._call("POST", "/cart/validate")

    def merge(self, guest: Guest) -> None:
        assert self._call("POST", "/cart/merge", session=guest.token)["merge"]["outcome"] == "merged"

    def checkout(self) -> None:
        assert self._call("POST", "/cart/checkout")["checkoutId"]


@dataclass
class Users:
    """The signed-in shoppers of the run (LocalCognito): one whose cart guest carts merge into, one
    who checks out."""

    merge_sub: str
    merge_token: str
    checkout_sub: str
    checkout_token: str

    def owner(self, sub: str) -> Any:
        from cart_common.session import Owner

        return Owner("user", sub)


def sign_up_users(cognito: Any) -> Users:
    found = []
    for role in ("merge", "checkout"):
        email, password = f"bench-{role}-{uuid.uuid4().hex[:8]}@example.com", "Correct-horse-9"
        sub = cognito.sign_up(email, password)
        found += [sub, cognito.sign_in(email, password)["AccessToken"]]
    return Users(*found)


class GuestCarts:
    """Fresh guest carts for merges (untimed): each call resets the user's cart to one line (product A)
    and makes a new guest cart with two lines, A (combined on merge) and B (added), under a newly
    minted guest token. Both are made on a connection of their own, so no way merges on the
    connection that just wrote the carts (which would favour it)."""

    def __init__(self, url: str, user: Any, products: list[str]) -> None:
        self.user_floor = FloorClient(url, owner=user)
        self.a, self.b = products[:2]

    def fresh(self) -> tuple[Guest]:
        from cart_common.session import mint_token, signing_keys

        self.user_floor.clear()
        self.user_floor.add(self.a)
        token = mint_token(signing_keys())
        guest = FloorClient("", owner=guest_owner(token), conn=self.user_floor.conn)
        guest.add(self.a)
        guest.add(self.b)
        return (Guest(token, guest.owner),)


def serve_local_stack(workers: int = 1) -> tuple[str, Callable[[], None]]:
    """The local HTTP stack on a free port: a threaded Werkzeug server in this process, functions in
    ``workers`` worker processes (spawned now, so the environment must already be set)."""
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    invoker = stack.make_invoker(workers=workers)
    server = make_server("127.0.0.1", 0, stack.LocalApi(invoker), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        invoker.close()

    return f"http://127.0.0.1:{server.server_port}", stop
