"""API fuzzing (issue 7, item 2): schemathesis over the merged OpenAPI document of every route
(``/openapi.json`` of the local stack), run in-process against the WSGI ``LocalApi`` as a guest, a
signed-in user and an administrator, with valid and invalid (negative) input.

Every response must be a documented status code with the documented content type and body schema
(problem+json bodies included), and none may be a 5xx. The document says nothing about the headers
every route reads (``Authorization``, ``X-Cart-Session``, ``If-Match``, ``Idempotency-Key``), so the
statuses those headers cause are checked by hand at the end, route by route.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from werkzeug.test import Client

from local import stack
from local.cognito import LocalCognito
from tests.conftest import json_of, own_products
from tests.e2e.route_classes import ADMIN, CART, PUBLIC, ROUTES, SERVICE, route_class, routes_of

IDENTITIES = ("guest", "user", "admin")
# Per route, identity and generation mode: the whole file stays well under a minute on 2 cores.
# FUZZ_MAX_EXAMPLES=500 for a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "30"))

# The checks that matter here: no 5xx, and every response as documented (status, content type,
# headers, body schema).
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]


@dataclass
class Identity:
    name: str
    headers: dict[str, str]
    products: list[str]
    codes: list[str]
    api: Client = field(repr=False)

    def slug(self) -> str:
        """The slug of one of the catalog's products."""
        page = json_of(self.api.get("/catalog/products", query_string={"limit": 1}))
        return page["products"][0]["slug"]

    def line_id(self) -> str:
        """The id of a line in this identity's cart (added when the fuzzer removed them all)."""
        cart = json_of(self.api.get("/cart", headers=self.headers))
        if not cart["items"]:
            added = self.api.post("/cart/items", json={"productId": self.products[0]}, headers=self.headers)
            assert added.status_code == 200, added.json
            cart = json_of(added)
        return cart["items"][0]["id"]


@pytest.fixture(scope="module")
def local_api() -> Iterator[stack.LocalApi]:
    invoker = stack.make_invoker(workers=0)
    yield stack.LocalApi(invoker, stack.dev_routes())
    invoker.close()


def served_document(api: stack.LocalApi) -> dict[str, Any]:
    reply = Client(api).get("/openapi.json")
    assert reply.status_code == 200
    return json_of(reply)


@pytest.fixture(scope="module")
def schema(local_api: stack.LocalApi) -> Any:
    return schemathesis.openapi.from_dict(served_document(local_api))


@pytest.fixture(scope="module")
def catalog(database_url: str) -> Iterator[tuple[list[str], list[str]]]:
    """Products and discount codes of this module's own, with ample stock: a fuzzed checkout
    reserves stock, which must never touch the demo catalog other tests rely on."""
    products = own_products(database_url, "Fuzz")
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(database_url, autocommit=True) as conn:
        codes = [f"FUZZ{tag}".upper(), f"FUZZFIX{tag}".upper()]
        conn.execute("insert into discount_code (code, kind, value) values (%s, 'percent', 10)", (codes[0],))
        conn.execute(
            "insert into discount_code (code, kind, value, currency) values (%s, 'fixed', 100, 'USD')", (codes[1],)
        )
    yield products, codes


def _signed_in(cognito: LocalCognito, *, admin: bool = False) -> str:
    client = cognito.client()
    email, password = f"fuzz-{uuid.uuid4().hex[:10]}@example.com", "Correct-horse-9"
    cognito.sign_up(email, password)
    if admin:
        with contextlib.suppress(client.exceptions.GroupExistsException):
            client.create_group(GroupName="admin", UserPoolId=cognito.user_pool_id)
        client.admin_add_user_to_group(UserPoolId=cognito.user_pool_id, Username=email, GroupName="admin")
    return cognito.sign_in(email, password)["AccessToken"]


@pytest.fixture(scope="module")
def identities(local_api: stack.LocalApi, cognito: LocalCognito, catalog) -> dict[str, Identity]:
    products, codes = catalog
    api = Client(local_api, use_cookies=False)
    guest = api.get("/cart").headers["X-Cart-Session"]
    found = {
        "guest": Identity("guest", {"X-Cart-Session": guest}, products, codes, api),
        "user": Identity("user", {"Authorization": f"Bearer {_signed_in(cognito)}"}, products, codes, api),
        "admin": Identity(
            "admin", {"Authorization": f"Bearer {_signed_in(cognito, admin=True)}"}, products, codes, api
        ),
    }
    for identity in found.values():  # every cart starts with a line
        identity.line_id()
    return found


def _steer(case: Any, identity: Identity, data: st.DataObject) -> None:
    """Point some generated cases at things that exist (a line of the cart, a product of the
    catalog, a discount code), so the fuzzer reaches past 404 into the routes' rules."""
    if "itemId" in (case.path_parameters or {}) and data.draw(st.booleans(), label="real itemId"):
        case.path_parameters["itemId"] = identity.line_id()
    if "code" in (case.path_parameters or {}) and data.draw(st.booleans(), label="real code"):
        case.path_parameters["code"] = data.draw(st.sampled_from(identity.codes), label="code")
    if "slug" in (case.path_parameters or {}) and data.draw(st.booleans(), label="real slug"):
        case.path_parameters["slug"] = identity.slug()  # a product page of the catalog's (public, read-only)
    if isinstance(case.body, dict):
        if "productId" in case.body and data.draw(st.booleans(), label="real productId"):
            case.body["productId"] = data.draw(st.sampled_from(identity.products), label="productId")
            case.body.pop("variantId", None)
        if isinstance(case.body.get("code"), str) and data.draw(st.booleans(), label="real code"):
            case.body["code"] = data.draw(st.sampled_from(identity.codes), label="code")
        for change in case.body.get("changes") or []:  # a bulk change's: real products and lines too
            if isinstance(change, dict) and "productId" in change and data.draw(st.booleans(), label="real product"):
                change["productId"] = data.draw(st.sampled_from(identity.products), label="productId")
                change.pop("variantId", None)
            if isinstance(change, dict) and "itemId" in change and data.draw(st.booleans(), label="real line"):
                change["itemId"] = identity.line_id()


def _has_input(operation: Any) -> bool:
    """Whether there is anything to make invalid (negative generation needs a parameter or a body)."""
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


@pytest.mark.parametrize("who", IDENTITIES)
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_answers_as_documented(
    schema: Any, local_api: stack.LocalApi, identities: dict[str, Identity], method: str, path: str, who: str
) -> None:
    """Valid input (some of it steered at real lines, products and codes), then invalid input."""
    operation = schema[path][method]
    identity = identities[who]
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if _has_input(operation) else [])
    for mode in modes:
        try:
            _fuzz(operation, mode, identity, local_api)()
        except Unsatisfiable:
            # Nothing in this operation's schema can be made invalid (e.g. an unconstrained string
            # path parameter): negative generation has nothing to do.
            if mode is not GenerationMode.NEGATIVE:
                raise


def _fuzz(operation: Any, mode: GenerationMode, identity: Identity, local_api: stack.LocalApi) -> Any:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def fuzz(case: Any, data: st.DataObject) -> None:
        if mode is GenerationMode.POSITIVE:
            _steer(case, identity, data)
        response = case.call(app=local_api, headers=identity.headers)
        case.validate_response(response, checks=CHECKS, headers=identity.headers)

    return fuzz


# --- what the fuzzer cannot reach: the document itself, and the statuses headers cause ------------


def test_the_served_document_covers_every_route_of_the_template(local_api: stack.LocalApi) -> None:
    doc = served_document(local_api)
    served = {(method.upper(), path) for path, operations in doc["paths"].items() for method in operations}
    assert served == set(ROUTES)


def test_the_served_document_names_valid_parameter_locations(local_api: stack.LocalApi) -> None:
    doc = served_document(local_api)
    locations = {
        (path, parameter["name"]): parameter["in"]
        for path, operations in doc["paths"].items()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
    }
    assert locations and all(where in {"path", "query", "header", "cookie"} for where in locations.values()), locations


def test_the_served_document_names_who_may_call_and_the_change_headers(local_api: stack.LocalApi) -> None:
    doc = served_document(local_api)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["cognito"] == {**schemes["cognito"], "type": "http", "scheme": "bearer"}
    assert (schemes["guestSessionHeader"]["in"], schemes["guestSessionHeader"]["name"]) == ("header", "X-Cart-Session")
    assert schemes["guestSessionCookie"]["in"] == "cookie"
    assert {} in doc["security"], "anonymous callers are allowed (they get a guest session)"
    assert schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    documented = {(method.upper(), path) for path, operations in doc["paths"].items() for method in operations}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for requirement in operation.get("security", doc["security"]):
                assert set(requirement) <= set(schemes), (method, path, requirement)
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            kind = route_class(method.upper(), path)
            # Conditional reads: the cart and the public catalog (both answer 304 on a current ETag).
            conditional = {"If-None-Match"} if (method, path) == ("get", "/cart") or kind == PUBLIC else set()
            if kind == SERVICE:
                # The order service's routes: idempotent per order, no cart version, no rate limit.
                assert operation["security"] == [{"sigv4": []}], (method, path)
                assert headers == set() and "429" not in operation["responses"], (method, path)
            elif kind == PUBLIC:
                assert operation["security"] == [], (method, path)  # no credentials at all
                assert headers == conditional and "304" in operation["responses"], (method, path)
            else:
                expected = {"If-Match", "Idempotency-Key"} if method != "get" else conditional
                assert headers == expected, (method, path)
    assert documented == set(ROUTES)
    assert doc["paths"]["/admin/carts/abandoned"]["get"]["security"] == [{"cognito": []}]


@pytest.fixture(scope="module")
def shop(local_api: stack.LocalApi, cognito: LocalCognito, database_url: str) -> Any:
    """A signed-in user with a stocked cart (lines, a saved item, a code), from the security tests'
    helpers; a user, so routes that refuse guests (checkout, merge) get as far as If-Match."""
    from tests.e2e.test_security import make_catalog, new_user, stock

    catalog = make_catalog(database_url)
    user = new_user(local_api, cognito, "fuzz user")
    return user, catalog, lambda: stock(user, catalog, catalog.codes[0])


# Statuses that headers cause, each sent by hand as well (the fuzzer rarely hits a valid token with a
# stale version): an invalid bearer is 401 invalid_token on every cart and admin route, a stale
# If-Match 409 version_conflict on every change of a cart. What each kind of route answers instead
# (tests/e2e/route_classes.py), by scenario:
EXPECTED = {
    # a bearer that is not a token; a signed-in user (not an administrator) with a stale If-Match
    "an invalid bearer": {
        CART: {401},
        ADMIN: {401},
        # The public catalog reads no Authorization: its 200, as without the header.
        PUBLIC: {200},
        # The function reads no Bearer (API Gateway's AWS_IAM authorizer refuses unsigned requests
        # in AWS, see test_security.py): the checkout nobody opened is 404 checkout_not_found.
        SERVICE: {404},
    },
    "a stale If-Match": {
        # 200 (201: a create): the route ignores If-Match (a read, a merge, a new list or link); 404:
        # POST /cart/recover, a link to a cart nobody has (request_for()), refused before any cart is read.
        CART: {409, 200, 201, 404},
        ADMIN: {403},  # a user: the guard refuses before anything else
        PUBLIC: {200},
        SERVICE: {404},
    },
}


def _header_cases() -> list[Any]:
    cases = []
    for method, path in ROUTES:
        for scenario, status in (("an invalid bearer", 401), ("a stale If-Match", 409)):
            cases.append(pytest.param(method, path, scenario, status, id=f"{method} {path}-{status}"))
    return cases


@pytest.mark.parametrize(("method", "path", "scenario", "status"), _header_cases())
def test_statuses_that_headers_cause_are_documented(
    local_api: stack.LocalApi, shop: Any, method: str, path: str, scenario: str, status: int
) -> None:
    """Each route gets a valid request with a bad header by hand, and what it answers must be
    documented for it. (A route that ignores If-Match answers 2xx, which is documented.)"""
    from tests.e2e.test_security import request_for

    user, catalog, restock = shop
    target, body = request_for(method, path, restock(), catalog)
    headers = {"Authorization": "Bearer not-a-token"} if status == 401 else {**user.headers, "If-Match": '"999999"'}
    reply = Client(local_api, use_cookies=False).open(
        target, method=method, headers=headers, **({"json": body} if body is not None else {})
    )
    documented = schema_of(local_api)["paths"][path][method.lower()]["responses"]
    assert reply.status_code < 500, reply.get_data(as_text=True)
    code = json_of(reply).get("code") if reply.status_code >= 400 else None
    assert str(reply.status_code) in documented, f"{method} {path} answers {reply.status_code} {code}: undocumented"
    kind = route_class(method, path)
    assert reply.status_code in EXPECTED[scenario][kind], (kind, reply.status_code, code)
    # a list route's If-Match is the list's version (docs/lists.md): list_changed
    changed = "list_changed" if path.startswith("/lists/{listId}") else "version_conflict"
    expected_code = {401: "invalid_token", 409: changed, 403: "forbidden"}.get(reply.status_code)
    if kind == SERVICE:
        expected_code = "checkout_not_found"
    elif (method, path) == ("POST", "/cart/recover") and reply.status_code == 404:
        expected_code = "cart_not_found"
    assert code == expected_code, (kind, reply.status_code, code)


@pytest.mark.parametrize(("method", "path"), routes_of(ADMIN), ids=[f"{m} {p}" for m, p in routes_of(ADMIN)])
def test_what_the_administrator_is_answered_is_documented(
    local_api: stack.LocalApi, identities: dict[str, Identity], shop: Any, method: str, path: str
) -> None:
    """Past the guard with a valid request (request_for(): the catalog's own product, variant, a
    spare code, an erasable user), which the fuzzer reaches only by chance: a create's 201 too."""
    from tests.e2e.test_security import request_for

    _, catalog, restock = shop
    target, body = request_for(method, path, restock(), catalog)
    reply = Client(local_api, use_cookies=False).open(
        target, method=method, headers=identities["admin"].headers, **({"json": body} if body is not None else {})
    )
    documented = schema_of(local_api)["paths"][path][method.lower()]["responses"]
    code = json_of(reply).get("code") if reply.status_code >= 400 else None
    assert reply.status_code < 500 and reply.status_code not in (401, 403), (reply.status_code, code)
    assert str(reply.status_code) in documented, f"{method} {path} answers {reply.status_code} {code}: undocumented"


def schema_of(api: stack.LocalApi) -> dict[str, Any]:
    return served_document(api)


NOT_UTF8 = b'{"productId": "\xff\xfe\xfd"}'
BODY_ROUTES = [("POST", "/cart/items"), ("PATCH", "/cart/items/{itemId}"), ("POST", "/cart/checkout"),
               ("POST", "/cart/discount-codes"), ("POST", "/cart/sync")]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "idempotency"),
    [pytest.param(m, p, False, id=f"{m} {p}") for m, p in BODY_ROUTES if (m, p) in ROUTES]
    + [pytest.param(m, p, True, id=f"{m} {p}-Idempotency-Key") for m, p in ROUTES],
)
def test_a_body_that_is_not_utf8_is_a_problem_not_a_500(
    local_api: stack.LocalApi, shop: Any, method: str, path: str, idempotency: bool
) -> None:
    from tests.e2e.test_security import request_for

    user, catalog, restock = shop
    target, _ = request_for(method, path, restock(), catalog)
    headers = {**user.headers, **({"Idempotency-Key": f"k-{uuid.uuid4().hex}"} if idempotency else {})}
    reply = Client(local_api, use_cookies=False).open(
        target, method=method, data=NOT_UTF8, content_type="application/json", headers=headers
    )
    assert reply.status_code < 500, reply.get_data(as_text=True)
    assert reply.headers["Content-Type"] == "application/problem+json" or reply.status_code < 300


@pytest.mark.parametrize(
    "parameter", ["offset", "minValue", "limit"]
)  # fmt: skip
def test_the_admin_listing_answers_numbers_beyond_bigint_without_a_500(
    local_api: stack.LocalApi, cognito: LocalCognito, parameter: str
) -> None:
    reply = Client(local_api).get(
        "/admin/carts/abandoned", query_string={parameter: str(2**63)},
        headers={"Authorization": f"Bearer {_signed_in(cognito, admin=True)}"},
    )  # fmt: skip
    assert reply.status_code < 500, reply.get_data(as_text=True)
    assert reply.status_code == 200 or json_of(reply)["code"] == "validation_failed"
