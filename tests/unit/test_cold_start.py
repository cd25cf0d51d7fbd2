"""Init-time behaviour that keeps cold starts short (cart_common/__init__.py)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common"

_PROBE = r"""
import gc, json, sys
sys.path.insert(0, sys.argv[1])
before = gc.isenabled()
import cart_common
paused = not gc.isenabled()
cart_common.init_done()
after = gc.isenabled()
frozen = gc.get_freeze_count()
cart_common.init_done()  # a second call changes nothing
print(json.dumps(dict(before=before, paused=paused, after=after, frozen=frozen, again=gc.get_freeze_count())))
"""


def _probe(env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(LAYER)], capture_output=True, text=True, check=True, env=env, timeout=60
    )
    return json.loads(proc.stdout)


def test_in_lambda_collection_waits_for_the_end_of_init() -> None:
    result = _probe({**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "cart-get"})
    assert result["before"] and result["paused"] and result["after"]
    assert result["frozen"] > 0, "what init built is frozen out of later collections"
    assert result["again"] == result["frozen"]


def test_outside_lambda_the_collector_is_left_alone() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_NAME"}
    result = _probe(env)
    assert result == {"before": True, "paused": False, "after": True, "frozen": 0, "again": 0}


def _third_party_imports(source: str) -> list[str]:
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module.split(".")[0])
    return [name for name in names if name not in sys.stdlib_module_names and name != "__future__"]


def test_every_function_imports_cart_common_before_any_other_library() -> None:
    """The collector is paused when cart_common is imported: a library imported before it (psycopg,
    pydantic, Powertools) would be imported with the collector running."""
    apps = sorted((ROOT / "functions").glob("*/app.py"))
    assert len(apps) >= 15
    for app in apps:
        imports = _third_party_imports(app.read_text())
        assert imports and imports[0] == "cart_common", f"{app.relative_to(ROOT)} imports {imports[:1]} first"


_IMPORT_FUNCTION = r"""
import gc, importlib, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
importlib.import_module("app")
print(json.dumps([gc.isenabled(), gc.get_freeze_count() > 0]))
"""


def test_every_function_resumes_collection_at_the_end_of_its_init() -> None:
    """In Lambda, each function module ends its init with the collector on and init's objects frozen
    (a module whose entry point is not ``api.observed`` would run with the collector off for good)."""
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "cart-test"}
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        proc = subprocess.run(
            [sys.executable, "-c", _IMPORT_FUNCTION, str(app.parent), str(LAYER)],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(proc.stdout.strip().splitlines()[-1]) == [True, True], app.relative_to(ROOT)
