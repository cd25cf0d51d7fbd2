"""Signing in through the local stack: the dev-only routes that stand in for Cognito
(``POST /dev/auth/signup``, ``POST /dev/auth/login``, which also invokes the SignInMergeFunction as the
Post Authentication trigger, since moto never invokes triggers), then the API with the user's token.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from local import dev, stack
from local.cognito import LocalCognito
from tests.conftest import MUG, POSTER, TSHIRT, TSHIRT_M_RED, MakeDev, free_port, json_of

PASSWORD = "Correct-horse-9"


class RecordingInvoker:
    """The in-process invoker, remembering every Post Authentication event and what came back."""

    def __init__(self, inner: stack.Invoker) -> None:
        self.inner = inner
        self.triggers: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        sent = json.loads(json.dumps(event))
        result = self.inner.invoke(function, event)
        if function == dev.MERGE_FUNCTION:
            self.triggers.append((sent, result))
        return result

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def invoker() -> Iterator[RecordingInvoker]:
    recording = RecordingInvoker(stack.make_invoker(workers=0))
    yield recording
    recording.close()


@pytest.fixture(scope="module")
def local_api(cognito: LocalCognito, invoker: RecordingInvoker) -> stack.LocalApi:
    return stack.LocalApi(invoker, {**stack.dev_routes(), **dev.auth_routes(cognito, invoker)})


def new_email() -> str:
    return f"flow-{uuid.uuid4().hex[:10]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signup(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post("/dev/auth/signup", json={"email": email, "password": password})


def login(client: Client, email: str, password: str = PASSWORD, cart_session: str | None = None) -> Any:
    body = {"email": email, "password": password}
    if cart_session is not None:
        body["cartSession"] = cart_session
    return client.post("/dev/auth/login", json=body)


def lines(cart: dict[str, Any]) -> set[tuple[str, str | None, int]]:
    return {(item["productId"], item["variantId"], item["quantity"]) for item in cart["items"]}


def assert_problem(reply: Any, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert reply.json["code"] == code and reply.json["status"] == status and reply.json["detail"]
    return reply.json


def guest_with_lines(local_api: stack.LocalApi, use_cookies: bool) -> tuple[Client, str]:
    """A guest who added a mug (x2) and a T-shirt; their token as the storefront reads it from
    the X-Cart-Session header (exposed by CORS), which a browser also keeps as a cookie."""
    guest = Client(local_api, use_cookies=use_cookies)
    first = guest.post("/cart/items", json={"productId": MUG, "quantity": 2})
    assert first.status_code == 200, first.json
    token = first.headers["X-Cart-Session"]
    headers = {} if use_cookies else {"X-Cart-Session": token}
    second = guest.post("/cart/items", json={"productId": TSHIRT, "variantId": TSHIRT_M_RED}, headers=headers)
    assert lines(json_of(second)) == {(MUG, None, 2), (TSHIRT, TSHIRT_M_RED, 1)}
    return guest, token


# --- 1. the Post Authentication trigger merges at sign-in -----------------------------------------


@pytest.mark.parametrize("transport", ["header", "cookie"])
def test_login_with_the_guest_token_merges_the_guest_cart(
    local_api: stack.LocalApi, invoker: RecordingInvoker, cognito: LocalCognito, transport: str
) -> None:
    guest, token = guest_with_lines(local_api, use_cookies=transport == "cookie")
    email = new_email()
    created = signup(guest, email)
    assert created.status_code == 201 and created.json["email"] == email
    sub = created.json["sub"]

    before = len(invoker.triggers)
    tokens = login(guest, email, cart_session=token)
    assert tokens.status_code == 200, tokens.json
    assert set(tokens.json) == {"idToken", "accessToken", "refreshToken", "expiresIn"}
    assert tokens.headers["Cache-Control"] == "no-store"

    # The trigger got what Cognito sends it, and answered with the event unchanged.
    ((event, result),) = invoker.triggers[before:]
    assert result == event
    assert event["triggerSource"] == "PostAuthentication_Authentication"
    assert (event["userPoolId"], event["userName"], event["callerContext"]["clientId"]) == (
        cognito.user_pool_id, sub, cognito.client_id,
    )  # fmt: skip
    assert event["request"]["userAttributes"] == {
        "sub": sub, "email": email, "email_verified": "true", "cognito:user_status": "CONFIRMED",
    }  # fmt: skip
    assert event["request"]["clientMetadata"] == {"cartSession": token}

    # Another device, the bearer alone: the guest's lines are the user's now.
    device = Client(local_api, use_cookies=False)
    cart = device.get("/cart", headers=bearer(tokens.json["accessToken"]))
    assert cart.status_code == 200
    assert lines(json_of(cart)) == {(MUG, None, 2), (TSHIRT, TSHIRT_M_RED, 1)}
    assert "X-Cart-Session" not in cart.headers
    assert json_of(device.get("/cart", headers=bearer(json_of(tokens)["idToken"])))["id"] == json_of(cart)["id"]
    # and the guest session no longer holds them
    assert json_of(device.get("/cart", headers={"X-Cart-Session": token}))["items"] == []


# --- 2. the lazy path: no cartSession at sign-in -----------------------------------------------------


def test_without_cart_session_the_first_request_with_both_merges_lazily(
    local_api: stack.LocalApi, invoker: RecordingInvoker
) -> None:
    browser, token = guest_with_lines(local_api, use_cookies=True)
    email = new_email()
    assert signup(browser, email).status_code == 201
    before = len(invoker.triggers)
    tokens = login(browser, email).json  # hosted UI / social sign-in: no ClientMetadata
    ((event, _),) = invoker.triggers[before:]
    assert "clientMetadata" not in event["request"]
    access = tokens["accessToken"]
    assert json_of(Client(local_api, use_cookies=False).get("/cart", headers=bearer(access)))["items"] == []

    cookie = browser.get_cookie("cart_session")
    assert cookie is not None and cookie.value == token
    first = browser.get("/cart", headers=bearer(access))  # the bearer and the guest cookie
    assert first.status_code == 200
    assert lines(json_of(first)) == {(MUG, None, 2), (TSHIRT, TSHIRT_M_RED, 1)}
    cleared = [c for c in first.headers.getlist("Set-Cookie") if c.startswith("cart_session=;")]
    assert len(cleared) == 1 and "Max-Age=0" in cleared[0]
    assert browser.get_cookie("cart_session") is None  # the browser dropped it

    later = Client(local_api, use_cookies=False).get("/cart", headers=bearer(access))
    assert lines(json_of(later)) == {(MUG, None, 2), (TSHIRT, TSHIRT_M_RED, 1)}


# --- 3. failures ---------------------------------------------------------------------------------------


def test_a_wrong_password_is_401_and_merges_nothing(local_api: stack.LocalApi, invoker: RecordingInvoker) -> None:
    guest, token = guest_with_lines(local_api, use_cookies=False)
    email = new_email()
    assert signup(guest, email).status_code == 201
    before = len(invoker.triggers)
    assert_problem(login(guest, email, "Wrong-horse-9", cart_session=token), 401, "invalid_credentials")
    unknown = assert_problem(login(guest, new_email(), cart_session=token), 401, "invalid_credentials")
    assert unknown["detail"] == "Incorrect email or password"  # no hint whether the user exists
    assert invoker.triggers[before:] == []  # the trigger runs after a successful sign-in only

    still_the_guests = json_of(guest.get("/cart", headers={"X-Cart-Session": token}))
    assert lines(still_the_guests) == {(MUG, None, 2), (TSHIRT, TSHIRT_M_RED, 1)}
    access = login(guest, email).json["accessToken"]
    assert json_of(guest.get("/cart", headers=bearer(access)))["id"] is None


def test_signing_up_twice_is_409(local_api: stack.LocalApi) -> None:
    client = Client(local_api)
    email = new_email()
    assert signup(client, email).status_code == 201
    assert_problem(signup(client, email), 409, "user_exists")
    assert_problem(signup(client, email, "Another-horse-7"), 409, "user_exists")


@pytest.mark.parametrize(
    ("route", "body", "code"),
    [
        ("/dev/auth/signup", "{nope", "malformed_json"),
        ("/dev/auth/signup", "[]", "bad_request"),
        ("/dev/auth/signup", {"email": "someone@example.com"}, "bad_request"),
        ("/dev/auth/signup", {"email": "not-an-email", "password": PASSWORD}, "bad_request"),
        ("/dev/auth/signup", {"email": "someone@example.com", "password": PASSWORD, "admin": True}, "bad_request"),
        ("/dev/auth/login", {"email": "someone@example.com", "password": 12345}, "bad_request"),
        ("/dev/auth/login", {"email": "someone@example.com", "password": PASSWORD, "cartSession": 7}, "bad_request"),
    ],
)
def test_bad_input_is_400(local_api: stack.LocalApi, route: str, body: Any, code: str) -> None:
    data = body if isinstance(body, str) else json.dumps(body)
    assert_problem(Client(local_api).post(route, data=data, content_type="application/json"), 400, code)


def test_a_weak_password_is_400_and_leaves_no_user_behind(local_api: stack.LocalApi) -> None:
    client = Client(local_api)
    email = new_email()
    assert_problem(signup(client, email, "password"), 400, "invalid_password")
    assert signup(client, email).status_code == 201  # not 409: the half-made user was removed
    assert login(client, email).status_code == 200


def test_a_failing_trigger_fails_the_sign_in_as_in_aws(cognito: LocalCognito, invoker: RecordingInvoker) -> None:
    class Broken:
        def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
            raise RuntimeError("the execution environment crashed")

        def close(self) -> None:
            pass

    client = Client(stack.LocalApi(invoker, dev.auth_routes(cognito, Broken())))
    email = new_email()
    assert signup(client, email).status_code == 201
    reply = assert_problem(login(client, email), 502, "post_authentication_failed")
    assert "accessToken" not in reply


def test_dev_routes_declare_their_methods(local_api: stack.LocalApi, invoker: RecordingInvoker) -> None:
    client = Client(local_api)
    assert client.get("/dev/auth/login").status_code == 404  # POST only, like any route not in the API
    assert client.get("/openapi.json").status_code == 200
    assert client.post("/openapi.json").status_code == 404  # GET only
    assert client.get("/openapi.json").status_code == 200
    bare = Client(stack.LocalApi(invoker, {"/ping": lambda _: Response("pong")}))  # a bare handler is GET
    assert bare.get("/ping").get_data(as_text=True) == "pong"
    assert bare.post("/ping").status_code == 404


# --- 4. a user who already had a cart --------------------------------------------------------------


def test_guest_lines_are_summed_into_the_users_cart_and_a_replay_is_a_no_op(local_api: stack.LocalApi) -> None:
    client = Client(local_api, use_cookies=False)
    email = new_email()
    assert signup(client, email).status_code == 201
    access = login(client, email).json["accessToken"]
    mine = client.post("/cart/items", json={"productId": MUG, "quantity": 1}, headers=bearer(access))
    assert lines(json_of(mine)) == {(MUG, None, 1)}

    guest, token = guest_with_lines(local_api, use_cookies=False)
    guest.post("/cart/items", json={"productId": POSTER}, headers={"X-Cart-Session": token})
    access = login(guest, email, cart_session=token).json["accessToken"]
    cart = json_of(client.get("/cart", headers=bearer(access)))
    assert cart["id"] == json_of(mine)["id"]  # the user's cart, with the guest's lines folded in
    assert lines(cart) == {(MUG, None, 3), (TSHIRT, TSHIRT_M_RED, 1), (POSTER, None, 1)}

    replay = client.post("/cart/merge", headers={**bearer(access), "X-Cart-Session": token})
    assert replay.status_code == 200, replay.json
    assert json_of(replay)["merge"]["outcome"] == "already_merged"
    assert json_of(replay)["merge"]["strategy"] == "sum"
    assert lines(json_of(replay)["cart"]) == lines(cart)


def test_a_replay_after_the_guest_cart_was_adopted_is_already_merged(local_api: stack.LocalApi) -> None:
    """A user without a cart adopts the guest cart at sign-in; the storefront's retried (or extra)
    POST /cart/merge with the same guest session should say it was merged already, as it does
    when the guest lines were folded into an existing cart."""
    guest, token = guest_with_lines(local_api, use_cookies=False)
    email = new_email()
    assert signup(guest, email).status_code == 201
    access = login(guest, email, cart_session=token).json["accessToken"]
    replay = guest.post("/cart/merge", headers={**bearer(access), "X-Cart-Session": token})
    assert replay.status_code == 200
    assert lines(json_of(replay)["cart"]) == {(MUG, None, 2), (TSHIRT, TSHIRT_M_RED, 1)}  # a no-op, as it should be
    assert json_of(replay)["merge"]["outcome"] == "already_merged"  # but: "nothing_to_merge"


# --- 5. `make dev` over real HTTP ------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    """Child processes of ``pid`` (Linux /proc; empty elsewhere)."""
    found: set[int] = set()
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        found |= {int(child) for child in children.read_text().split()}
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def _request(url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, dict, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})},
        method="POST" if data is not None else "GET",
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:  # loopback
            return reply.status, dict(reply.headers), json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)


def test_make_dev_runs_cognito_and_signs_in_over_http(database_url: str) -> None:
    """``local/dev.py`` without COGNITO_ISSUER: its own moto Cognito, a demo user printed at
    start-up, the dev sign-in over real HTTP into worker processes that verify the tokens; and on
    SIGTERM, moto's server and the workers stop with it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNITO_")}
    env.update(PORT=str(port), DATABASE_URL=database_url, LOCAL_WORKERS="2", STOREFRONT_PORT="0")
    server = MakeDev(env)
    base = f"http://127.0.0.1:{port}"
    children: set[int] = set()
    try:
        server.wait_until(lambda: server.printed_line("Cart API:"), "the local stack did not start")
        printed = server.printed
        demo_user = re.search(r"^Demo user: (\S+) / (\S+)", printed, re.MULTILINE)
        assert demo_user, printed
        email, password = demo_user.groups()
        moto = re.search(r"^Cognito \(moto\): http://127\.0\.0\.1:(\d+)", printed, re.MULTILINE)
        assert moto, printed
        moto_port = int(moto.group(1))
        assert "/dev/auth/login" in printed and "/dev/auth/signup" in printed

        status, headers, cart = _request(f"{base}/cart/items", {"productId": MUG, "quantity": 3})
        assert status == 200, cart
        token = headers["X-Cart-Session"]
        status, _, problem = _request(f"{base}/dev/auth/login", {"email": email, "password": "Not-it-1"})
        assert (status, problem["code"]) == (401, "invalid_credentials")
        status, headers, tokens = _request(
            f"{base}/dev/auth/login", {"email": email, "password": password, "cartSession": token}
        )
        assert status == 200, tokens
        status, _, cart = _request(f"{base}/cart", headers=bearer(tokens["accessToken"]))
        assert status == 200, cart
        assert [(i["productId"], i["quantity"]) for i in cart["items"]] == [(MUG, 3)]
        status, _, problem = _request(f"{base}/cart", headers=bearer("not-a-token"))
        assert (status, problem["code"]) == (401, "invalid_token")
        children = _children(server.process.pid)  # moto's server (local.cognito_server) and the execution environments
        assert any("local.cognito_server" in _cmdline(pid) for pid in children), {
            pid: _cmdline(pid) for pid in children
        }
    finally:
        try:
            returncode = server.stop()
        finally:
            deadline = time.monotonic() + 10
            while (leftovers := {pid for pid in children if _alive(pid)}) and time.monotonic() < deadline:
                time.sleep(0.1)
            for pid in leftovers:  # never leave our own children running, whatever happened
                os.kill(pid, signal.SIGKILL)
    assert returncode == 0, server.printed
    assert not leftovers, f"still running after SIGTERM: {leftovers}"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", moto_port), timeout=1).close()
