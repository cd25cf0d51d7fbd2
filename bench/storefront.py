"""``make bench-storefront``: the reference storefront measured on the local stack, in Debian's Chromium.

What it times (results to bench/STOREFRONT.md, with the machine and date):

1. **Add to cart → badge**: on a product page, from the click on Add to cart to (a) the badge showing
   the new count (the optimistic update) and (b) the badge saying the API answered
   (``data-state="saved"``), measured in the page with ``performance.now()`` and a MutationObserver,
   20 times, p50/p95.
2. **/cart server render**: time to the full HTML of ``/cart`` for a cart of 3 lines (``next start``
   calling ``POST /cart/validate`` on the local stack), 20 requests, p50/p95.
3. **Requests per quick-click burst**: on /cart, five quick clicks on a line's + (then five on -,
   three rounds: the line ends where it began), counting the server actions each burst makes
   (each is one API request) until the badge says the API answered.
4. **First-load JS of /cart**: the scripts the page loads, summed as they cross the wire (gzip, as
   ``next start`` serves them) and uncompressed. (Next.js 16's ``next build`` no longer prints
   per-route sizes, so this is read off the page.)

It runs ``next build``, then ``local/dev.py`` with STOREFRONT_MODE=start on free ports, over a
database of its own on the embedded server (or DATABASE_URL's server).
"""

from __future__ import annotations

import gzip
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOREFRONT = ROOT / "storefront"
RESULTS = ROOT / "bench" / "STOREFRONT.md"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
RUNS = 20
BURST_CLICKS, BURST_ROUNDS = 5, 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def build() -> float:
    started = time.monotonic()
    subprocess.run(
        [str(STOREFRONT / "node_modules" / ".bin" / "next"), "build"],
        cwd=STOREFRONT, env={**os.environ, "NEXT_TELEMETRY_DISABLED": "1"}, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.monotonic() - started


def start_stack() -> tuple[subprocess.Popen, str, str]:
    from local import dev

    api_port, storefront_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNITO_")}
    env.update(
        PORT=str(api_port), STOREFRONT_PORT=str(storefront_port), STOREFRONT_MODE="start",
        DATABASE_URL=os.environ.get("DATABASE_URL") or dev.embedded_database_url("cart_bench_storefront"),
    )  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "local.dev"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    assert server.stdout is not None  # stdout=PIPE
    stdout = server.stdout
    threading.Thread(target=lambda: output.extend(stdout), daemon=True).start()
    storefront = f"http://127.0.0.1:{storefront_port}"
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("".join(output))
        try:
            with urllib.request.urlopen(f"{storefront}/auth", timeout=5):
                break
        except OSError:
            time.sleep(0.3)
    return server, f"http://127.0.0.1:{api_port}", storefront


CLICK_TO_BADGE = """async () => {
    const badge = document.querySelector('[data-testid="cart-badge"]');
    const before = Number(badge.textContent);
    const button = document.querySelector('[data-testid="add-to-cart"]');
    return await new Promise((resolve) => {
        let shown = null;
        const t0 = performance.now();
        const observer = new MutationObserver(() => {
            if (shown === null && Number(badge.textContent) === before + 1) shown = performance.now() - t0;
            if (shown !== null && badge.dataset.state === "saved") {
                observer.disconnect();
                resolve({shown, saved: performance.now() - t0});
            }
        });
        observer.observe(badge, {childList: true, characterData: true, subtree: true, attributes: true});
        button.click();
    });
}"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    build_s = build()
    server, _api, storefront = start_stack()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                                        args=CHROMIUM_ARGS)  # fmt: skip
            context = browser.new_context(base_url=storefront)
            page = context.new_page()
            page.goto("/products/coffee-mug")
            page.wait_for_selector('[data-testid="cart-badge"][data-state="saved"]')
            page.evaluate(CLICK_TO_BADGE)  # warm-up: the first add starts the guest session
            shown, saved = [], []
            for _ in range(RUNS):
                result = page.evaluate(CLICK_TO_BADGE)
                shown.append(result["shown"])
                saved.append(result["saved"])
            for slug in ("art-poster", "classic-t-shirt"):
                page.goto(f"/products/{slug}")
                page.click('[data-testid="add-to-cart"]')
                page.wait_for_selector('[data-testid="cart-badge"][data-state="saved"]')

            cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
            renders = []
            for _ in range(RUNS + 1):
                request = urllib.request.Request(f"{storefront}/cart", headers={"Cookie": cookie})
                started = time.perf_counter()
                with urllib.request.urlopen(request, timeout=30) as reply:
                    html = reply.read().decode()
                renders.append((time.perf_counter() - started) * 1000)
            renders = renders[1:]
            assert html.count('data-testid="cart-line"') == 3, "the cart should hold 3 lines"

            page.goto("/cart")
            page.wait_for_selector('[data-testid="cart-badge"][data-state="saved"]')
            calls: list[str] = []
            # A server action is a POST to the page carrying a Next-Action header: one API request each.
            page.on("request", lambda r: calls.append(r.url) if "next-action" in r.headers else None)
            mug = page.locator('[data-testid="cart-line"][data-product-id="00000000-0000-4000-8000-000000000003"]')
            bursts: list[int] = []
            for _ in range(BURST_ROUNDS):
                for step in ("line-increment", "line-decrement"):
                    before = len(calls)
                    for _ in range(BURST_CLICKS):
                        mug.get_by_test_id(step).click()
                    page.wait_for_selector('[data-testid="cart-badge"][data-state="saved"]')
                    bursts.append(len(calls) - before)

            scripts: dict[str, int] = {}
            fresh = browser.new_context(base_url=storefront, storage_state=context.storage_state())
            cart_page = fresh.new_page()

            def record(response) -> None:
                if response.request.resource_type == "script":
                    scripts[response.url] = 0

            cart_page.on("response", record)
            cart_page.goto("/cart", wait_until="networkidle")
            raw = gz = 0
            for url in scripts:
                with urllib.request.urlopen(url, timeout=30) as reply:
                    body = reply.read()
                raw += len(body)
                gz += len(gzip.compress(body, 6))
            browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    def row(measure: str, values: list[float]) -> str:
        return f"| {measure}, n={RUNS} | {statistics.median(values):.1f} ms | {pct(values, 0.95):.1f} ms |"

    js = f"{len(scripts)} scripts, {gz / 1024:.1f} kB gzip ({raw / 1024:.1f} kB uncompressed)"
    lines = [
        "# Storefront on the local stack",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · `python -m bench.storefront`",
        "",
        "| measure | p50 | p95 |",
        "|---|---|---|",
        row("click Add to cart → badge shows the new count (optimistic)", shown),
        row("click Add to cart → badge confirmed by the API (`data-state=saved`)", saved),
        row("`/cart` server render, 3 lines (full HTML over HTTP)", renders),
        "",
        f"Requests per burst of {BURST_CLICKS} quick clicks on a line's stepper (n={len(bursts)}): "
        f"{min(bursts)} to {max(bursts)}, {sum(bursts) / len(bursts):.1f} on average"
        " (each a server action and one API request).",
        "",
        f"First-load JS of `/cart`: {js}.",
        "",
        f"`next build`: {build_s:.1f} s.",
        "",
    ]  # fmt: skip
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
