"""``make bench-compare BASE=<rev>``: the working tree's handlers against another revision's, in one
run, on one database, the two interleaved in every iteration, so that a refactor's cost (or gain) is
read from one table rather than from two runs on a machine whose speed drifts.

Both sides are the Lambda handlers in-process with API Gateway events (the API's contract is what
stays put across revisions; the store's Python signatures need not). The revision's layer is
exported with ``git archive`` and imported under another package name (``cart_common_base``), and its
functions' modules are loaded from the export, so the two sides share nothing but the database, the
environment and the driving code (``bench.operations``). The database has the working tree's
migrations: they are forward-only and additive, the property a rolling deploy relies on, so the
revision's statements run on it as they would while a deploy rolls.

Rate limits are off on both sides by default (``--rate-limits`` turns them on), so a revision from
before them and one after compare the same work; ``make bench`` measures what they cost."""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.clients import HandlerClient, sign_up_users
from bench.environment import bench_database, drop_database, make_products
from bench.measure import percentile
from bench.operations import Way, latency_per_operation
from bench.run import api_environment, stdout_to_devnull
from local import stack, template

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "bench" / "COMPARE.md"
BASE_PACKAGE = "cart_common_base"
# A change this much slower (p50) than the base is flagged: issue 15's bar for a refactor.
TOLERANCE = 0.05


def export(rev: str, into: Path) -> Path:
    """The revision's layer and functions, with the layer's package renamed to ``cart_common_base``
    (in its own imports and in the functions'), so both revisions load in one process."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "layers/common/cart_common", "functions"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    package = into / "layers" / "common" / BASE_PACKAGE
    (into / "layers" / "common" / "cart_common").rename(package)
    for source in [*package.rglob("*.py"), *(into / "functions").rglob("*.py")]:
        source.write_text(re.sub(r"\bcart_common\b", BASE_PACKAGE, source.read_text()))
    return into


def import_base_layer(export_dir: Path) -> ModuleType:
    package = export_dir / "layers" / "common" / BASE_PACKAGE
    spec = importlib.util.spec_from_file_location(
        BASE_PACKAGE, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[BASE_PACKAGE] = module
    spec.loader.exec_module(module)
    return module


def base_loader(export_dir: Path) -> Any:
    """``stack.load_function`` for the revision's functions: the same route, the export's code."""
    cache: dict[str, stack.Handler] = {}

    def load(route: template.Route) -> stack.Handler:
        if route.function not in cache:
            module_name, attr = route.handler.rsplit(".", 1)
            code = export_dir / route.code_dir.relative_to(ROOT) / f"{module_name}.py"
            unique = f"base_fn_{route.function}_{module_name}"
            spec = importlib.util.spec_from_file_location(unique, code)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[unique] = module
            spec.loader.exec_module(module)
            cache[route.function] = getattr(module, attr)
        return cache[route.function]

    return load


def render(rev: str, commit: str, samples: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> str:
    lines = [
        "# The working tree against a base revision",
        "",
        f"- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; `make bench-compare BASE={rev}` (base {commit[:12]}); "
        f"{args.iterations} measured iterations per operation and side (merge and checkout: half as many), "
        f"the sides interleaved; rate limits {'on' if args.rate_limits else 'off'} on both sides",
        f"- Python {sys.version.split()[0]}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at the end",
        "- Both sides are the handlers in-process (API Gateway events), on one database; "
        f"a p50 more than {TOLERANCE:.0%} over the base is marked **slower**.",
        "",
        "| operation | base p50 | tree p50 | change (p50) | base p95 | tree p95 |",
        "|---|---|---|---|---|---|",
    ]
    for op in samples["base"]:
        base, tree = samples["base"][op], samples["tree"][op]
        change = percentile(tree, 50) / percentile(base, 50) - 1
        mark = " **slower**" if change > TOLERANCE else ""
        lines.append(
            f"| {op} | {percentile(base, 50):.2f} | {percentile(tree, 50):.2f} | {change:+.1%}{mark} "
            f"| {percentile(base, 95):.2f} | {percentile(tree, 95):.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="the revision to compare with (default HEAD)")
    parser.add_argument("--iterations", type=int, default=300, help="measured iterations per operation and side")
    parser.add_argument("--rate-limits", action="store_true", help="rate limits on, on both sides")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where the table goes (default bench/COMPARE.md)")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{args.base}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    from local import cognito as local_cognito

    started = time.perf_counter()
    server, url = bench_database()
    cognito = local_cognito.start()
    os.environ.update(api_environment(url, cognito))
    if not args.rate_limits:
        os.environ["RATE_LIMITS_ENABLED"] = "false"
    warnings.filterwarnings("ignore", category=UserWarning, module="aws_lambda_powertools.metrics.provider.base")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
            export_dir = export(commit, Path(tmp))
            import_base_layer(export_dir)
            load_base = base_loader(export_dir)
            ways: dict[str, Way] = {
                "base": lambda owner, bearer: HandlerClient(bearer, load=load_base),
                "tree": lambda owner, bearer: HandlerClient(bearer),
            }
            users = sign_up_users(cognito)
            products = make_products(url, 20)
            with stdout_to_devnull():
                samples = latency_per_operation(url, ways, users, products, args.iterations)
            # The base side ran the revision's code: the eight operations' functions, on the renamed layer.
            loaded = [name for name in sys.modules if name.startswith("base_fn_")]
            assert len(loaded) >= 7 and f"{BASE_PACKAGE}.store" in sys.modules, loaded
    finally:
        cognito.stop()
        drop_database(server, url)
    text = render(args.base, commit, samples, args)
    args.output.write_text(text)
    print(text)
    print(f"Wrote {args.output} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
