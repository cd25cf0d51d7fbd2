"""The Docker-free local stack: HTTP requests become API Gateway v2 events for the functions that
template.yaml maps the routes to."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from http.cookiejar import CookieJar

import pytest
from werkzeug.test import Client

from local import stack, template
from tests.conftest import MUG, ROOT, TSHIRT, TSHIRT_M_RED, MakeDev, free_port, json_of, serves


@pytest.fixture(scope="module")
def local_api() -> stack.LocalApi:
    return stack.LocalApi(stack.make_invoker(workers=0), stack.dev_routes())


@pytest.fixture
def client(local_api: stack.LocalApi) -> Client:
    return Client(local_api)


def test_every_function_folder_is_in_the_template_and_the_core_routes_map_to_theirs() -> None:
    routes = {(r.method, r.path): r.code_dir.name for r in template.routes()}
    assert (
        routes.items()
        >= {
            ("GET", "/cart"): "get_cart",
            ("POST", "/cart/items"): "add_item",
            ("PATCH", "/cart/items/{itemId}"): "update_item",
            ("DELETE", "/cart/items/{itemId}"): "remove_item",
            ("DELETE", "/cart"): "clear_cart",
            ("POST", "/cart/merge"): "merge_cart",
        }.items()
    )
    folders = {p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").exists()}
    assert folders == {f.code_dir.name for f in template.functions() if f.code_dir.parent.name == "functions"}
    for route in template.routes():
        assert (route.code_dir / "app.py").exists()


def test_a_browser_keeps_its_cart_through_the_cookie(client: Client) -> None:
    first = client.get("/cart")
    assert first.status_code == 200 and json_of(first)["items"] == []
    assert "HttpOnly" in first.headers["Set-Cookie"]
    added = client.post("/cart/items", json={"productId": MUG, "quantity": 2})
    assert added.status_code == 200, added.json
    item_id = json_of(added)["items"][0]["id"]
    patched = client.patch(f"/cart/items/{item_id}", json={"quantity": 5})
    assert json_of(patched)["itemCount"] == 5
    assert json_of(client.get("/cart"))["items"][0]["quantity"] == 5
    assert json_of(client.delete(f"/cart/items/{item_id}"))["items"] == []
    assert client.delete("/cart").status_code == 200


def test_an_app_keeps_its_cart_through_the_header(local_api: stack.LocalApi) -> None:
    app = Client(local_api, use_cookies=False)
    token = app.get("/cart").headers["X-Cart-Session"]
    app.post("/cart/items", json={"productId": TSHIRT, "variantId": TSHIRT_M_RED}, headers={"X-Cart-Session": token})
    cart = json_of(app.get("/cart", headers={"X-Cart-Session": token}))
    assert [i["variantId"] for i in cart["items"]] == [TSHIRT_M_RED]


def test_problems_pass_through_with_their_content_type(client: Client) -> None:
    reply = client.post("/cart/items", data="{nope", content_type="application/json")
    assert reply.status_code == 400
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert json_of(reply)["code"] == "malformed_json"


def test_a_route_that_is_not_in_the_api_is_api_gateways_404(client: Client) -> None:
    reply = client.put("/cart")
    assert reply.status_code == 404 and reply.json == {"message": "Not Found"}


def test_cors_preflight_and_responses_follow_the_template(client: Client) -> None:
    cors = template.cors()
    assert cors is not None and cors.allow_origins
    origin = cors.allow_origins[0]
    preflight = client.options("/cart/items", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert "x-cart-session" in preflight.headers["Access-Control-Allow-Headers"].lower()
    reply = client.get("/cart", headers={"Origin": origin})
    assert "x-cart-session" in reply.headers["Access-Control-Expose-Headers"].lower()
    stranger = client.get("/cart", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_the_catalog_route_lists_products_with_variants_and_the_dev_listing_is_gone(client: Client) -> None:
    listed = client.get("/catalog/products?limit=100")
    assert "public" in listed.headers["Cache-Control"] and listed.headers["ETag"]
    products = {p["id"]: p for p in json_of(listed)["products"]}
    assert products[MUG]["price"] == 1250 and products[MUG]["variants"] == []
    skus = {v["sku"] for v in products[TSHIRT]["variants"]}
    assert {"TSHIRT-S-RED", "TSHIRT-M-RED"} <= skus
    mug = client.get("/catalog/products/coffee-mug", headers={"If-None-Match": listed.headers["ETag"]})
    assert mug.status_code == 200 and json_of(mug)["availableStock"] <= 40  # another ETag than the page's
    assert client.get("/products").status_code == 404


def test_the_openapi_document_covers_every_route_and_its_problems(client: Client) -> None:
    doc = json_of(client.get("/openapi.json"))
    assert set(doc["paths"]) == {r.path for r in template.routes()}
    add = doc["paths"]["/cart/items"]["post"]
    assert {"200", "400", "404", "409", "422", "503"} <= set(add["responses"])
    assert "application/problem+json" in add["responses"]["409"]["content"]
    assert set(doc["paths"]["/cart/items/{itemId}"]) == {"patch", "delete"}
    # rate limits on every change (issue 14), a conditional read of the cart
    for path, method in [("/cart/items", "post"), ("/cart/checkout", "post"), ("/cart", "delete")]:
        limited = doc["paths"][path][method]["responses"]["429"]
        assert {"Retry-After", "RateLimit-Policy", "RateLimit"} <= set(limited["headers"])
        assert "RateLimit" in doc["paths"][path][method]["responses"]["200"]["headers"]
    read = doc["paths"]["/cart"]["get"]
    assert "304" in read["responses"] and "429" not in read["responses"]
    assert "If-None-Match" in {p["name"] for p in read["parameters"]}


def test_make_dev_serves_the_api_on_a_port(database_url: str) -> None:
    """What `make dev` runs: migrations, the demo catalog, the API on PORT, with worker processes."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": database_url, "LOCAL_WORKERS": "2", "STOREFRONT_PORT": "0"}
    server = MakeDev(env)
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_until(lambda: serves(f"{base}/catalog/products"), "the local stack did not start")
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        request = urllib.request.Request(
            f"{base}/cart/items",
            data=json.dumps({"productId": MUG, "quantity": 3}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        added = json.load(opener.open(request, timeout=30))
        assert added["itemCount"] == 3
        token = None
        with urllib.request.urlopen(f"{base}/cart", timeout=30) as fresh:
            token = fresh.headers["X-Cart-Session"]
        assert token and token.startswith("v1.")
        # Secure cookies are not sent back over http:// by urllib; the header carries the session
        again = urllib.request.Request(f"{base}/cart", headers={"X-Cart-Session": token})
        assert json.load(urllib.request.urlopen(again, timeout=30))["items"] == []
    finally:
        server.stop()
    assert f"http://127.0.0.1:{port}" in server.printed
    assert "Database:" in server.printed


def test_disabled_metrics_are_never_printed(local_api: stack.LocalApi, monkeypatch, capsys) -> None:
    """``make dev`` disables metrics so EMF lines don't drown the request log; Powertools alone would
    still print them in a batch once 100 values piled up. (Its cold-start metric, one line per
    function and worker, is printed regardless; the warm-up request takes it here.)"""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    client = Client(local_api)
    assert client.get("/cart").status_code == 200
    capsys.readouterr()
    for _ in range(120):  # each request adds at least one value
        assert client.get("/cart").status_code == 200
    assert '"CloudWatchMetrics"' not in capsys.readouterr().out
