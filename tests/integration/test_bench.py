"""``make bench`` runs end to end (a short ``--quick`` run into a scratch file): every section is
written, every operation is measured at one round trip, and every function's cold init is measured
on the built output with the collector on afterwards. The figures themselves are not judged here:
speed is measured in bench/, not in timed tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, _server_url

pytestmark = pytest.mark.packaging  # it runs sam build

SECTIONS = (
    "## Latency per operation (ms)",
    "## Validating a 50-line cart (ms)",
    "## Bulk changes: 50 lines at once against one add (ms)",
    "## Rate limits and conditional reads (ms)",
    "## Scaling: `GET /cart` by lines in the cart (ms)",
    "## Scaling: `GET /cart` by carts in the database (ms)",
    "## Throughput: concurrent clients against the local stack",
    "## Cold init per function (median of fresh processes)",
)
OPERATIONS = ("get", "add", "update", "remove", "clear", "validate", "merge", "checkout")


@pytest.mark.timeout(600)
def test_a_quick_bench_writes_every_section(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    committed = (ROOT / "bench" / "RESULTS.md").read_bytes()
    command = [
        sys.executable, "-m", "bench.run", "--quick", "--iterations", "10", "--seconds", "0.5",
        "--cold-runs", "1", "--carts", "2000", "--workers", "2", "--output", str(output),
    ]  # fmt: skip
    env = {**os.environ, "DATABASE_URL": _server_url()}  # the bench makes and drops its own database there
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = output.read_text()
    for section in SECTIONS:
        assert section in text, section
    for operation in OPERATIONS:
        row = re.search(rf"^\| {operation} \|.*\| (\d+) / (\d+) \|$", text, re.MULTILINE)
        assert row and row.groups() == ("1", "1"), (operation, row and row.group(0))
    limits = text.split("## Rate limits and conditional reads", 1)[1].split("\n\n- ", 1)[0]
    for measure, trips in [("change, limits on", 1), ("change, limits off", 1), ("get 200", 1), ("get 304", 1)]:
        assert re.search(rf"^\| {measure} \| [0-9.]+ \| [0-9.]+ \| {trips} \|$", limits, re.MULTILINE), measure
    bulk = text.split("## Bulk changes", 1)[1].split("\n\n- ", 1)[0]
    for measure in ("add (one line)", "bulk: add 50 lines", "bulk: remove 50 lines"):
        assert re.search(rf"^\| {re.escape(measure)} \|.*\| 1 / 1 \|$", bulk, re.MULTILINE), measure
    cold = text.split("## Cold init per function", 1)[1].split("\n\n**Where", 1)[0]
    rows = [line for line in cold.splitlines() if re.match(r"^\| [a-z_]+ \| \d+", line)]
    functions = {row.split(" | ")[0].lstrip("| ") for row in rows}
    assert {"get_cart", "add_item", "merge_cart", "expire_carts", "migrate"} <= functions, functions
    for cold_row in rows:
        assert cold_row.endswith("| no | yes |"), cold_row  # boto3 not imported; collector on after init
    assert "Wrote" in proc.stderr
    assert (ROOT / "bench" / "RESULTS.md").read_bytes() == committed, "--output must leave bench/RESULTS.md alone"
