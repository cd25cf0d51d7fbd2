"""bench/RESULTS.md: the results of every section as the tables and notes a reader compares from run
to run, with the machine, the date and the run's settings. Only formatting lives here; every figure
is measured by the sections (``bench.operations``, ``bench.load``, ``bench.cold_start``) and only
summarised here (percentiles, ratios, status classes)."""

from __future__ import annotations

import os
import platform
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bulk import render_bulk
from bench.cold_start import INIT_BUDGET_MS
from bench.environment import MAX_LINES_PER_CART, OPERATIONS, ROOT
from bench.limits import render_limits
from bench.load import MIX
from bench.measure import percentile

RUNTIME = f"{sys.version_info[0]}.{sys.version_info[1]}"  # the venv's, which is template.yaml's runtime

RESULTS = ROOT / "bench" / "RESULTS.md"
SWEEP = ROOT / "bench" / "SWEEP.md"
ANALYTICS = ROOT / "bench" / "ANALYTICS.md"
TIMES = "\u00d7"  # the ratio sign in the tables


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.1f} GiB RAM, {system}"


def p(samples: list[float], q: int) -> str:
    return f"{percentile(samples, q):.2f}"


def render(r: dict[str, Any]) -> str:
    """bench/RESULTS.md (without the sweep section, which follows it)."""
    args, ways, trips = r["args"], r["ways"], r["trips"]
    (l1, _, _), (l1_after, _, _) = r["load_avg"]
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; `make bench`{' --quick' if args['quick'] else ''}, "
        f"{r['elapsed_s']:.0f} s in all",
        f"- Machine: {machine()}; Python {platform.python_version()}; PostgreSQL {r['pg_version']} "
        f"({r['server_kind']}; {r['pg_settings']}); load average {l1:.2f} at the start, {l1_after:.2f} at the end",
        f"- {args['iterations']} measured iterations per operation and way (merge and checkout: half as many; "
        "5 warm-up each), the three ways interleaved (each iteration runs every way in turn, in reverse order "
        "every other iteration), one run, one database",
        "",
        "## Latency per operation (ms)",
        "",
        "| operation | floor p50 | floor p95 | handler p50 | handler p95 | handler/floor (p50) "
        "| http p50 | http p95 | http/floor (p50) | round trips (floor / handler) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for op in OPERATIONS:
        f, h, w = (ways[k][op] for k in ("floor", "handler", "http"))
        f50 = percentile(f, 50)
        lines.append(
            f"| {op} | {p(f, 50)} | {p(f, 95)} | {p(h, 50)} | {p(h, 95)} | {percentile(h, 50) / f50:.1f}{TIMES} "
            f"| {p(w, 50)} | {p(w, 95)} | {percentile(w, 50) / f50:.1f}{TIMES} "
            f"| {trips['floor'][op]} / {trips['handler'][op]} |"
        )
    lines += [
        "",
        "- get/add/update/remove/clear/validate: a guest's cart of three lines (add, update and remove work on a "
        "fourth); clear is sampled every tenth iteration (then the cart is refilled, untimed).",
        "- merge: a fresh two-line guest cart (one product the user has, one new) into a signed-in user's one-line "
        "cart; both carts are made untimed before each merge. The handler and http ways send the Cognito access "
        "token (verified against LocalCognito's JWKS) and the guest token in `X-Cart-Session`.",
        "- checkout: a signed-in user's three-line cart; each checkout releases the previous reservation and "
        "reserves again.",
        "- http: a new TCP connection per request (the Werkzeug server closes each one), one worker process.",
        f"- A first visit's `GET /cart` makes {trips['handler']['get (first visit)']} round trips (no cart, no query).",
        "",
        "## Validating a 50-line cart (ms)",
        "",
        "| way | p50 | p95 |",
        "|---|---|---|",
    ]
    v = r["validate50"]
    lines += [
        f"| floor (readiness query + cart view, one round trip) | {p(v['floor'], 50)} | {p(v['floor'], 95)} |",
        f"| handler (POST /cart/validate, in-process) | {p(v['handler'], 50)} | {p(v['handler'], 95)} |",
        f"| http (local stack) | {p(v['http'], 50)} | {p(v['http'], 95)} |",
        "",
        "The seed design's target is under 500 ms.",
        "",
        *render_bulk(r["bulk"]),
        *render_limits(r["limits"]),
        "## Scaling: `GET /cart` by lines in the cart (ms)",
        "",
        "| lines | floor p50 | floor p95 | handler p50 | handler p95 | handler/floor (p50) |",
        "|---|---|---|---|---|---|",
    ]
    for size, s in r["lines"].items():
        lines.append(
            f"| {size} | {p(s['floor'], 50)} | {p(s['floor'], 95)} | {p(s['handler'], 50)} | {p(s['handler'], 95)} "
            f"| {percentile(s['handler'], 50) / percentile(s['floor'], 50):.1f}{TIMES} |"
        )
    lines += [
        "",
        f"MAX_LINES_PER_CART is {MAX_LINES_PER_CART} in the bench environment (default 100).",
        "",
        "## Scaling: `GET /cart` by carts in the database (ms)",
        "",
        "| carts in the database | floor p50 | floor p95 | handler p50 | handler p95 | bulk insert + analyze s |",
        "|---|---|---|---|---|---|",
    ]
    for c in r["carts"]:
        lines.append(
            f"| {c['carts']:,} | {p(c['floor'], 50)} | {p(c['floor'], 95)} | {p(c['handler'], 50)} "
            f"| {p(c['handler'], 95)} | {c['insert_s']:.1f} |"
        )
    lines += [
        "",
        "The measured cart has three lines; the dummy carts are active guest carts without lines (carts only, to "
        "keep the run short).",
        "",
        f"## Throughput: concurrent clients against the local stack ({args['workers']} worker processes)",
        "",
        "| clients | requests | req/s | p50 ms | p95 ms | p99 ms | 2xx | 4xx | 5xx | no response |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for level in r["load"]:
        requests = level["requests"]
        latencies = [ms for _, _, ms in requests]
        classes = Counter(status // 100 for _, status, _ in requests)
        lines.append(
            f"| {level['clients']} | {len(requests)} | {len(requests) / level['elapsed_s']:.0f} "
            f"| {p(latencies, 50)} | {p(latencies, 95)} | {p(latencies, 99)} | {classes[2]} | {classes[4]} "
            f"| {classes[5]} | {classes[0]} |"
        )
    mix = ", ".join(f"{int(share * 100)}% {op}" for op, share in MIX)
    lines += [
        "",
        f"{args['seconds']:.0f} s per level after a warm-up; each client is a guest with its own cart sending requests "
        f"back to back ({mix}; an update or remove with no line is an add) over a new HTTP connection each, from a "
        "separate process. Everything (clients, server, workers, PostgreSQL) shares the machine's cores.",
        "",
        "## Cold init per function (median of fresh processes)",
        "",
    ]
    cold = r["cold"]
    labels = [python["label"] for python in cold["interpreters"]]
    lines += [
        f"Budget: import (init) ≤ {INIT_BUDGET_MS} ms, judged on the median of {args['cold_runs']} fresh "
        f"process{'es' if args['cold_runs'] != 1 else ''} on each CPython {RUNTIME} build this machine has "
        "(the fastest one is shown too: the least disturbed by other load). Init runs as in Lambda: after the runtime "
        "interface client's own imports (awslambdaric, which the managed runtime bundles), with "
        "`AWS_LAMBDA_FUNCTION_NAME` and template.yaml's `PYDANTIC_DISABLE_PLUGINS` set.",
        "",
    ]
    for python in cold["interpreters"]:
        rows = [f["by_python"][python["label"]] for f in cold["functions"].values()]
        passed = sum(row["init_ms"] <= INIT_BUDGET_MS for row in rows)
        libpython = "a shared libpython" if rows[0]["libpython_shared"] else "libpython linked into the executable"
        lines.append(
            f"- **{python['label']}** (`{python['path']}`, {libpython}): {passed} of {len(rows)} functions within "
            f"budget, slowest {max(row['init_ms'] for row in rows):.0f} ms; the required stack alone (psycopg, "
            f"pydantic and one model, Powertools' resolver, Logger and Metrics; none of our code) takes "
            f"{cold['stack_floor'][python['label']]:.0f} ms."
        )
    floors = list(cold["stack_floor"].values())
    gap = f" (the required stack imports {1 - floors[1] / floors[0]:.0%} faster on it)" if len(floors) == 2 else ""
    lines += [
        "",
        "This machine's default interpreter is a pyenv build without profile-guided or link-time optimization"
        + (
            f"; Debian's python{RUNTIME} is built with both, as distributions' builds usually are{gap}. Both are "
            "shown; neither is Lambda's own build."
            if len(floors) == 2
            else f" (Debian has no python{RUNTIME}); it is not Lambda's own build."
        ),
    ]
    lines += [
        "",
        "| function | "
        + " | ".join(f"init ms, {label} | budget | fastest" for label in labels)
        + f" | first invocation ms ({labels[0]}) | sample status | process total ms | RSS after init MB "
        "| peak RSS MB | modules imported | boto3 imported | GC on after init |",
        "|---|" + "---|---|---|" * len(labels) + "---|---|---|---|---|---|---|---|",
    ]
    for name, f in cold["functions"].items():
        cells = []
        for label in labels:
            c = f["by_python"][label]
            verdict = "pass" if c["init_ms"] <= INIT_BUDGET_MS else "**fail**"
            cells.append(f"{c['init_ms']:.0f} | {verdict} | {c['init_min_ms']:.0f}")
        c = f["by_python"][labels[0]]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {c['first_ms']:.0f} | {c['status']} | {c['process_ms']:.0f} "
            f"| {c['rss_init']:.0f} | {c['rss_peak']:.0f} | {c['modules']:.0f} | {'yes' if c['boto3'] else 'no'} "
            f"| {'yes' if c['gc_ok'] else '**no**'} |"
        )
    imports = cold["imports"]
    top = imports["self_by_package"].most_common(10)
    lines += [
        "",
        "Init is the import of the handler module with the layer on `sys.path` (what Lambda's init phase runs after "
        "the runtime's own start-up); no network. Measured on the "
        "sam build output in an isolated "
        "interpreter (standard library, the function's package, the layer with its compiled bytecode). "
        "Modules imported counts what the handler's import added to what the runtime client had loaded. "
        "The first invocation runs the sample event in events/ (sample "
        "tokens are placeholders, hence 401s) and includes opening the database connection. Process total includes "
        "interpreter start-up. Functions: every one in template.yaml with a sample event.",
        "",
        f"**Where {imports['function']}'s init goes** ({labels[0]}, same conditions). Each module imported alone in a "
        "fresh process (ms, fastest "
        f"of {args['cold_runs']}; each includes what that module imports, so they overlap):",
        "",
        "| " + " | ".join(f"`{m}`" for m in imports["alone"]) + " |",
        "|" + "---|" * len(imports["alone"]),
        "| " + " | ".join(f"{ms:.0f}" for ms in imports["alone"].values()) + " |",
        "",
        "The whole import under `python -X importtime`, each module's own time summed by top-level package "
        f"(ms; additive, {sum(imports['self_by_package'].values()):.0f} ms in all with importtime's overhead; "
        "`cart_common`'s own time is mostly pydantic setting up its models' fields as the classes are defined; "
        "validators are built on first use):",
        "",
        "| " + " | ".join(f"`{name}`" for name, _ in top) + " | everything else |",
        "|" + "---|" * (len(top) + 1),
        "| "
        + " | ".join(f"{ms:.0f}" for _, ms in top)
        + f" | {sum(imports['self_by_package'].values()) - sum(ms for _, ms in top):.0f} |",
        "",
        "The expiry-sweep section below is bench/SWEEP.md, written by `make bench-sweep` (its own date and "
        "machine line); `make bench` does not re-run it.",
        "",
    ]
    return "\n".join(lines)
