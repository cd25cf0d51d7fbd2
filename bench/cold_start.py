"""Section 6 of ``make bench``, cold init: every function in template.yaml that has a sample event,
started in fresh interpreters as Lambda starts it, on the ``sam build`` output: the import of the
handler module (Lambda's init phase) against the budget, the first invocation, the process's own
memory (RSS after init and at its peak) and the modules imported; the required stack's own import
cost; and where one function's init goes. Each measurement is a script run in a process of its own
(``COLD``, ``STACK_FLOOR``, ``IMPORT_ALONE``, ``IMPORT_TRACE``), so nothing this process has imported
is counted."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.environment import ROOT
from local import template
from local.invoke import host_layer

INIT_BUDGET_MS = 150

# Every fresh process starts the way Lambda's runtime does before it imports a handler: the function's
# package, then the layer, on sys.path (/var/task, /opt/python), and the runtime interface client
# (awslambdaric, which the managed runtime bundles) already imported, with what it imports. It is
# installed in this virtualenv, so its folder is on sys.path only while it is imported.
PREAMBLE = """
import gc, importlib, json, sys, time
sys.path[:0] = {path!r}
sys.path.append({runtime!r})
import awslambdaric.bootstrap
sys.path.remove({runtime!r})
sys.path_importer_cache.pop({runtime!r}, None)
preloaded = len(sys.modules)
"""

COLD = (
    PREAMBLE
    + """
start = time.perf_counter()
handler_module = importlib.import_module({module!r})  # as awslambdaric's bootstrap does
init_ms = (time.perf_counter() - start) * 1000
gc_ok = gc.isenabled()
modules = len(sys.modules) - preloaded
boto3 = "boto3" in sys.modules
def rss_mb(field):  # this process's own memory (ru_maxrss would include the parent's, inherited across exec)
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field)) / 1024
rss_init = rss_mb("VmRSS:")
event = json.load(open({event!r}))
class Ctx:
    function_name = "bench"; memory_limit_in_mb = 256; aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:bench"
    def get_remaining_time_in_millis(self): return 10000
start = time.perf_counter()
result = getattr(handler_module, {attr!r})(event, Ctx())
first_ms = (time.perf_counter() - start) * 1000
rss_peak = rss_mb("VmHWM:")
status = result.get("statusCode", "ok") if isinstance(result, dict) else type(result).__name__
libpython_shared = "libpython" in open("/proc/self/maps").read()
print(json.dumps(dict(init_ms=init_ms, first_ms=first_ms, rss_init=rss_init, rss_peak=rss_peak, status=status,
                      modules=modules, boto3=boto3, gc_ok=gc_ok, libpython_shared=libpython_shared)))
"""
)

# The required stack alone, under the same conditions: psycopg, pydantic with one model built,
# Powertools' HTTP resolver (with validation), Logger and Metrics; none of our code. The collector
# is paused as cart_common pauses it.
STACK_FLOOR = (
    PREAMBLE
    + """
start = time.perf_counter()
gc.disable()
import psycopg
from pydantic import BaseModel
class Model(BaseModel):
    quantity: int
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
app = APIGatewayHttpResolver(enable_validation=True)
gc.freeze(); gc.enable()
print(json.dumps((time.perf_counter() - start) * 1000))
"""
)

IMPORT_ALONE = (
    PREAMBLE
    + """
start = time.perf_counter()
importlib.import_module({module!r})
print(json.dumps((time.perf_counter() - start) * 1000))
"""
)
IMPORT_CANDIDATES = (
    "asyncio",
    "pydantic",
    "psycopg",
    "aws_lambda_powertools",
    "aws_lambda_powertools.event_handler",
    "cart_common.models",
    "cart_common.api",
    "app",
)
# The marker leaves out what the interpreter and the runtime client imported first.
IMPORT_TRACE = (
    PREAMBLE
    + """
sys.stderr.write("START\\n")
import app
"""
)


@dataclass(frozen=True)
class Interpreter:
    label: str
    executable: str
    path: str


def interpreters() -> list[Interpreter]:
    """The CPython builds of the runtime's version cold starts are timed on: this run's own (the
    virtualenv's base) and, where the machine has one, the distribution's /usr/bin/python3.X. How each was
    built matters: a default pyenv build (this machine's) has no profile-guided or link-time
    optimization and a shared libpython; Debian builds its python3.11 with PGO and LTO and links
    libpython into the executable (its changelog: "Enable LTO/PGO builds on some architectures"),
    as production CPython builds are optimized."""
    found, seen = [], set()
    runtime = list(sys.version_info[:2])  # the venv's: template.yaml's runtime (the Makefile checks)
    debian = f"/usr/bin/python{runtime[0]}.{runtime[1]}"
    for label, candidate in (("this run's", sys.executable), ("Debian's", debian)):
        if not Path(candidate).exists():
            continue
        probe = subprocess.run(
            [candidate, "-I", "-S", "-c",
             "import json, os, sys; print(json.dumps([os.path.realpath(sys.executable), "
             "list(sys.version_info[:2]), sys.version.split()[0]]))"],
            capture_output=True, text=True,
        )  # fmt: skip
        if probe.returncode != 0:
            continue
        real, version, full_version = json.loads(probe.stdout)
        if version != runtime or real in seen:
            continue
        seen.add(real)
        found.append(Interpreter(f"{label} {full_version}", candidate, real))
    return found


def runtime_client_path() -> str:
    """Where awslambdaric (a bench dependency) is installed."""
    import importlib.util

    spec = importlib.util.find_spec("awslambdaric")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("awslambdaric is missing: make bench installs requirements-dev.txt")
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


def cold_env(function_name: str) -> dict[str, str]:
    """The bench environment plus what Lambda and template.yaml's Globals set for every function
    that bears on init: the function name (which also tells cart_common it runs in Lambda) and
    pydantic's plugin switch."""
    globals_env = template.load().get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    env = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "PYDANTIC_DISABLE_PLUGINS": str(globals_env.get("PYDANTIC_DISABLE_PLUGINS", "")),
    }
    if function_name == "MigrateFunction" and "BENCH_OWNER_DATABASE_URL" in os.environ:
        # The migrations sign in as the database's owner, as the MigrateFunction does in AWS.
        env["DATABASE_URL"] = os.environ["BENCH_OWNER_DATABASE_URL"]
    return env


def run_fresh(python: str, code: str, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh, isolated interpreter (``-I -S``: the standard library and what ``code``
    puts on sys.path, nothing else), as in Lambda."""
    return subprocess.run([python, "-I", "-S", *flags, "-c", code], capture_output=True, text=True, check=True, env=env)


def sampled_functions() -> list[tuple[template.Function, Path]]:
    """Every function in template.yaml with a sample event: events/<code folder>.json, or
    events/<handler module>.json (the MigrateFunction's code folder is db/, its sample migrate.json)."""
    found = []
    for function in template.functions():
        module = function.handler.rsplit(".", 1)[0]
        for candidate in (function.code_dir.name, module):
            event = ROOT / "events" / f"{candidate}.json"
            if event.exists():
                found.append((function, event))
                break
    return found


def build_functions(target: Path) -> Path:
    """``sam build`` into ``target``: cold starts are measured on what Lambda runs (the built
    function folders and the built layer, with its compiled bytecode), not on the source tree."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "SAM_CLI_TELEMETRY": "0",
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "sam"), "build", "--template-file", str(ROOT / "template.yaml"),
         "--build-dir", str(target / "build"), "--base-dir", str(ROOT), "--cache-dir", str(target / "cache")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"sam build failed (cold starts are measured on its output):\n{result.stderr[-2000:]}")
    return target / "build"


def summarize_cold(of: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        key: statistics.median(s[key] for s in of)
        for key in ("init_ms", "first_ms", "rss_init", "rss_peak", "process_ms", "modules")
    } | {
        "init_min_ms": min(s["init_ms"] for s in of),
        "status": of[0]["status"],
        "boto3": any(s["boto3"] for s in of),
        "gc_ok": all(s["gc_ok"] for s in of),
        "libpython_shared": of[0]["libpython_shared"],
    }


def cold_starts(runs: int, traced_function: str = "get_cart") -> dict[str, Any]:
    """Per function and interpreter (see ``interpreters``), the median of ``runs`` fresh processes
    (and the fastest import): the import of the handler module (Lambda's init phase; no network),
    with Lambda's environment variables; the first invocation with the sample event (opens the
    database connection); peak RSS (the process's own VmHWM); and the process's wall time. On the
    ``sam build`` output. Each round starts every function once on every interpreter, so a burst
    of background load lands on one sample of many functions, not on many samples of one. Then the
    required stack's own cost (``STACK_FLOOR``) on each interpreter, and where ``traced_function``'s
    init goes (``import_costs``)."""
    runtime = runtime_client_path()
    pythons = interpreters()
    with tempfile.TemporaryDirectory() as scratch:
        built = build_functions(Path(scratch))
        # The built layer's wheels are Lambda's (arm64): the same layer for this machine's architecture.
        layer = str(host_layer(built))
        runnable = []
        for function, event in sampled_functions():
            module, attr = function.handler.rsplit(".", 1)
            path = [str(built / function.name), layer]
            code = COLD.format(path=path, runtime=runtime, event=str(event), module=module, attr=attr)
            runnable.append((function, event, code, cold_env(function.name)))
        samples: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for _ in range(runs):
            for _, event, code, env in runnable:
                for python in pythons:
                    start = time.perf_counter()
                    out = run_fresh(python.executable, code, env)
                    process_ms = (time.perf_counter() - start) * 1000
                    samples[event.stem, python.label].append(
                        json.loads(out.stdout.strip().splitlines()[-1]) | {"process_ms": process_ms}
                    )
        functions = {
            event.stem: {
                "function": function.name,
                "by_python": {python.label: summarize_cold(samples[event.stem, python.label]) for python in pythons},
            }
            for function, event, _, _ in runnable
        }
        floor_code = STACK_FLOOR.format(path=[layer], runtime=runtime)
        floor: dict[str, list[float]] = {python.label: [] for python in pythons}
        for _ in range(max(runs, 5)):
            for python in pythons:
                floor[python.label].append(
                    json.loads(run_fresh(python.executable, floor_code, cold_env("floor")).stdout)
                )
        traced = next(f for f, event in sampled_functions() if event.stem == traced_function)
        imports = import_costs(
            pythons[0].executable, [str(built / traced.name), layer], runtime, cold_env(traced.name), runs
        ) | {"function": traced_function}
    return {
        "interpreters": [{"label": p.label, "path": p.path} for p in pythons],
        "functions": functions,
        "stack_floor": {label: statistics.median(xs) for label, xs in floor.items()},
        "imports": imports,
    }


def import_costs(python: str, path: list[str], runtime: str, env: dict[str, str], runs: int) -> dict[str, Any]:
    """Where one function's init goes, two ways, under the same conditions as ``cold_starts``: each
    candidate module imported alone in a fresh process (the fastest of ``runs``, the least disturbed
    by other load; it includes whatever the module itself imports, so the rows overlap), and the
    function's whole import under ``-X importtime`` with each module's own (self) time summed by
    top-level package (additive; importtime's overhead inflates the total)."""
    alone = {
        module: min(
            json.loads(run_fresh(python, IMPORT_ALONE.format(path=path, runtime=runtime, module=module), env).stdout)
            for _ in range(runs)
        )
        for module in IMPORT_CANDIDATES
    }
    trace = run_fresh(python, IMPORT_TRACE.format(path=path, runtime=runtime), env, "-X", "importtime").stderr
    by_package: Counter[str] = Counter()  # of ms (floats: typeshed types a Counter's counts as int)
    for line in trace.partition("START\n")[2].splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s+(\S+)", line)
        if match:
            by_package[match.group(2).split(".")[0]] += int(match.group(1)) / 1000  # type: ignore[assignment]
    return {"alone": alone, "self_by_package": by_package}
