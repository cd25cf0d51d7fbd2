"""Browser tests of the reference storefront (storefront/): the local stack on a free port (in this
process, over the session's test database and moto's Cognito), the storefront built once with
``next build`` and served by ``next start`` on another free port, and Debian's Chromium driven by
Playwright for Python (never ``playwright install``: the browser comes from apt-get, see the Makefile).

Every wait is on a state the page shows (``expect`` on a data-testid), never a sleep.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local import stack
from local.bus import LocalBus
from local.cognito import LocalCognito
from tests.conftest import FORWARDER_KEY, ROOT, free_port, one

STOREFRONT = ROOT / "storefront"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Headless Chromium as root on a closed network: no sandbox (root), no /dev/shm reliance, and none
# of the background connections the machine's network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
NODE_ENV = {"NEXT_TELEMETRY_DISABLED": "1"}
TIMEOUT_MS = 15_000  # every expect: generous for a shared 2-core machine, and bounded

expect.set_options(timeout=TIMEOUT_MS)


# --- the API, with a fault switch -----------------------------------------------------------------


@dataclass
class Fault:
    method: str
    path: str
    remaining: int
    status: int = 503
    delay_s: float = 0.0  # > 0: the request is served, and its answer held back this long


@dataclass
class ApiFaults:
    """WSGI middleware in front of the local stack: records every request's method, path and
    Idempotency-Key, and answers the next ``times`` matching requests with a 503 problem, as API
    Gateway passes on a function's ``database_unavailable`` (``fail``), or serves them and holds
    their answers back (``slow``: a change the API has made while its answer is still on the way)."""

    app: Callable[..., Any]
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    conditional: list[tuple[str, str, str | None]] = field(default_factory=list)  # If-None-Match of each
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, method: str, path: str, times: int) -> Fault:
        fault = Fault(method, path, times)
        with self.lock:
            self.faults.append(fault)
        return fault

    def slow(self, method: str, path: str, times: int, seconds: float) -> Fault:
        fault = Fault(method, path, times, delay_s=seconds)
        with self.lock:
            self.faults.append(fault)
        return fault

    def seen(self, method: str, path: str) -> list[str | None]:
        with self.lock:
            return [key for m, p, key in self.requests if m == method and p == path]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests.append((request.method, request.path, request.headers.get("Idempotency-Key")))
            self.conditional.append((request.method, request.path, request.headers.get("If-None-Match")))
            fault = next(
                (f for f in self.faults if f.remaining > 0 and f.method == request.method and f.path == request.path),
                None,
            )
            if fault:
                fault.remaining -= 1
        if fault and fault.delay_s:
            answer = Response.from_app(self.app, environ, buffered=True)  # served now, answered later
            time.sleep(fault.delay_s)
            return answer(environ, start_response)
        if fault:
            body = {
                "type": "/problems/database_unavailable",
                "title": "Service unavailable",
                "status": fault.status,
                "detail": "The cart database is unavailable. Please try again.",
                "code": "database_unavailable",
            }
            response = Response(json.dumps(body), fault.status, content_type="application/problem+json")
            response.headers["Retry-After"] = "1"
            return response(environ, start_response)
        return self.app(environ, start_response)


@dataclass
class Stack:
    api_url: str
    storefront_url: str
    faults: ApiFaults
    cognito: LocalCognito
    database_url: str


@pytest.fixture(scope="session")
def storefront_build() -> None:
    """``next build`` once per run (node_modules from ``npm ci``, which the Makefile runs)."""
    if not (STOREFRONT / "node_modules" / ".bin" / "next").exists():
        pytest.fail("storefront/node_modules is missing: run `make install` (it runs `npm ci` in storefront/)")
    subprocess.run(
        [str(STOREFRONT / "node_modules" / ".bin" / "next"), "build"],
        cwd=STOREFRONT,
        env={**os.environ, **NODE_ENV},
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=600,
    )


@pytest.fixture(scope="session")
def site(storefront_build: None, database_url: str, cognito: LocalCognito, event_bus: LocalBus) -> Iterator[Stack]:
    storefront_port = free_port()
    storefront_url = f"http://127.0.0.1:{storefront_port}"
    invoker = stack.make_invoker(workers=0)
    # /dev/events: the run's bus (tests/conftest.py), which the storefront's demo payment step posts to
    routes = stack.dev_routes() | {"/dev/events": stack.DevRoute(event_bus.dev_events, methods=("GET", "POST"))}
    api = stack.LocalApi(invoker, routes, extra_origins=[storefront_url])
    faults = ApiFaults(api)
    server = make_server("127.0.0.1", 0, faults, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-api", daemon=True)
    thread.start()
    api_url = f"http://127.0.0.1:{server.server_port}"
    env = {
        **os.environ,
        **NODE_ENV,
        "CART_API_URL": api_url,
        "COGNITO_ENDPOINT": cognito.endpoint,
        "COGNITO_CLIENT_ID": cognito.client_id,
        "COGNITO_REGION": "us-east-1",
        "NEXT_PUBLIC_CART_API_URL": api_url,
        # The API's trusted forwarder: every call names the shopper's address, taken from the
        # rightmost x-forwarded-for entry (TRUSTED_PROXY_HOPS=1, the default): what one proxy in
        # front of the storefront appended, or, with no proxy, the connection's address (Next.js).
        "CART_FORWARDER_KEY": FORWARDER_KEY,
        "TRUSTED_PROXY_HOPS": "1",
        "CART_DEMO_PAYMENTS": "1",  # the checkout's Place order step, as `make dev` sets it
    }
    process = subprocess.Popen(
        [str(STOREFRONT / "node_modules" / ".bin" / "next"), "start", "-H", "127.0.0.1", "-p", str(storefront_port)],
        cwd=STOREFRONT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{storefront_url}/auth", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("next start did not serve the storefront") from None
                time.sleep(0.2)
        yield Stack(api_url, storefront_url, faults, cognito, database_url)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        server.shutdown()
        invoker.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (the Makefile does it as root)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def new_context(browser: Browser, site: Stack) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh browser profiles (a new guest each), closed after the test."""
    contexts: list[BrowserContext] = []

    def make(width: int = 1280, height: int = 900, **options: Any) -> BrowserContext:
        context = browser.new_context(
            base_url=site.storefront_url, viewport={"width": width, "height": height}, **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(30_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context().new_page()


@pytest.fixture
def own_product(site: Stack) -> Callable[..., dict[str, Any]]:
    """A product of the test's own (so checkout reservations never touch the demo catalogue)."""

    def make(
        *, price: int = 1500, stock: int = 1000, name: str = "Desk lamp", variants: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        slug = f"lamp-{uuid.uuid4().hex[:8]}"
        with psycopg.connect(site.database_url, autocommit=True) as conn:
            pid = one(
                conn.execute(
                    "insert into product (name, slug, price, currency, stock) values (%s, %s, %s, 'USD', %s)"
                    " returning id::text",
                    (f"{name} {slug[-4:]}", slug, price, stock),
                )
            )[0]
            variant_ids = [
                one(
                    conn.execute(
                        "insert into product_variant (product_id, sku, attributes, stock) values (%s, %s, %s, %s)"
                        " returning id::text",
                        (pid, f"{slug}-{i}", json.dumps(v["attributes"]), v.get("stock", 10)),
                    )
                )[0]
                for i, v in enumerate(variants or [])
            ]
        return {"id": pid, "slug": slug, "price": price, "variants": variant_ids}

    return make
