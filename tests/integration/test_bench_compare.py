"""``make bench-compare`` runs end to end against HEAD (a short run into a scratch file): the base
revision is exported and imported under its own package name, its handlers are the ones run on the
base side, every operation gets a row, and a p50 past the tolerance is marked. The figures themselves
are not judged here: speed is measured in bench/, not in timed tests."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import compare
from tests.conftest import ROOT, _server_url

OPERATIONS = ("get", "add", "update", "remove", "clear", "validate", "merge", "checkout")


def test_the_export_imports_only_its_own_renamed_layer(tmp_path: Path) -> None:
    exported = compare.export("HEAD", tmp_path)
    package = exported / "layers" / "common" / compare.BASE_PACKAGE
    sources = [*package.rglob("*.py"), *(exported / "functions").rglob("*.py")]
    assert (package / "store" / "sql").is_dir() and len(sources) > 30
    assert not (exported / "layers" / "common" / "cart_common").exists()
    leftovers = [str(p) for p in sources if re.search(r"\bcart_common\b", p.read_text())]
    assert leftovers == []
    assert "from cart_common_base" in (exported / "functions" / "add_item" / "app.py").read_text()


def test_a_p50_past_the_tolerance_is_marked_slower_and_one_within_it_is_not() -> None:
    samples = {
        "base": {"get": [1.0] * 9, "add": [1.0] * 9, "clear": [1.0] * 9},
        "tree": {"get": [1.0 + compare.TOLERANCE * 1.2] * 9, "add": [1.0 + compare.TOLERANCE * 0.8] * 9,
                 "clear": [0.5] * 9},
    }  # fmt: skip
    args = argparse.Namespace(iterations=9, rate_limits=False)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in compare.render("HEAD", "0" * 40, samples, args).splitlines()
            if line.startswith("| ") and not line.startswith("| operation")}  # fmt: skip
    assert "**slower**" in rows["get"] and "+6.0%" in rows["get"]
    assert "**slower**" not in rows["add"] and "+4.0%" in rows["add"]
    assert "**slower**" not in rows["clear"] and "-50.0%" in rows["clear"]


@pytest.mark.timeout(300)
def test_a_short_compare_against_head_writes_a_row_per_operation(tmp_path: Path) -> None:
    output = tmp_path / "COMPARE.md"
    committed = (ROOT / "bench" / "COMPARE.md").read_bytes()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    command = [sys.executable, "-m", "bench.compare", "--base", "HEAD", "--iterations", "20", "--output", str(output)]
    env = {**os.environ, "DATABASE_URL": _server_url()}  # the bench makes and drops its own database there
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = output.read_text()
    assert f"(base {head.stdout.strip()[:12]})" in text and "rate limits off on both sides" in text
    for operation in OPERATIONS:
        assert re.search(rf"^\| {operation} \| [0-9.]+ \| [0-9.]+ \| [+-][0-9.]+%", text, re.MULTILINE), operation
    assert (ROOT / "bench" / "COMPARE.md").read_bytes() == committed, "--output must leave bench/COMPARE.md alone"
