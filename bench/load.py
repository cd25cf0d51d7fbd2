"""Section 5 of ``make bench``, throughput: concurrent guest shoppers over real HTTP against the local
stack with several worker processes (execution environments), a mix of operations. The clients run in
a process of their own, apart from the server's, so this module is what that process imports."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import random
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from bench.clients import serve_local_stack

MIX = (("get", 0.5), ("add", 0.3), ("update", 0.1), ("remove", 0.1))


def load_clients(base: str, clients: int, seconds: float, products: list[str], seed: int) -> dict[str, Any]:
    """Runs in a process of its own, so the clients do not share the server's GIL: ``clients``
    threads, each a guest shopper with a cart of its own, sending requests back to back over real
    HTTP (a connection each, as the server closes it) for ``seconds``. Operations by ``MIX``; an
    update or remove with no line to pick is an add. Returns every request's operation, status
    (0: no response) and latency."""
    split = urlsplit(base)
    host, port = split.hostname, split.port
    assert host, base
    barrier = threading.Barrier(clients + 1)
    results: list[tuple[str, int, float]] = []
    lock = threading.Lock()
    ops, weights = tuple(op for op, _ in MIX), tuple(share for _, share in MIX)

    def shopper(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        token: str | None = None
        items: list[str] = []
        mine: list[tuple[str, int, float]] = []
        barrier.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            op = rng.choices(ops, weights)[0]
            if op in ("update", "remove") and not items:
                op = "add"
            if op == "get":
                method, path, body = "GET", "/cart", None
            elif op == "add":
                method, path, body = "POST", "/cart/items", {"productId": rng.choice(products), "quantity": 1}
            elif op == "update":
                method, path, body = "PATCH", f"/cart/items/{rng.choice(items)}", {"quantity": rng.randint(1, 5)}
            else:
                method, path, body = "DELETE", f"/cart/items/{rng.choice(items)}", None
            headers = {"Content-Type": "application/json", **({"X-Cart-Session": token} if token else {})}
            start = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(host, port, timeout=60)
                conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
                response = conn.getresponse()
                data, status = response.read(), response.status
                token = response.getheader("X-Cart-Session") or token
                conn.close()
            except OSError:
                data, status = b"", 0
            mine.append((op, status, (time.perf_counter() - start) * 1000))
            if status == 200:
                items = [item["id"] for item in json.loads(data)["items"]]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=shopper, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return {"clients": clients, "elapsed_s": time.perf_counter() - start, "requests": results}


def throughput(
    products: list[str], levels: tuple[int, ...], seconds: float, workers: int, warmup_s: float
) -> list[dict[str, Any]]:
    """Requests per second, p50/p95 and statuses at each concurrency level, for ``seconds`` each,
    against the local stack with ``workers`` worker processes (execution environments). A warm-up at
    the highest level first starts every worker and opens its database connection (discarded)."""
    base, stop = serve_local_stack(workers)
    levels_out = []
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as load:
            load.submit(load_clients, base, max(levels), warmup_s, products, 0).result()
            for n, clients in enumerate(levels, start=1):
                levels_out.append(load.submit(load_clients, base, clients, seconds, products, n).result())
    finally:
        stop()
    return levels_out
