"""One Python everywhere: the Makefile builds the virtualenv (tests, local stack) with template.yaml's
runtime version and says so clearly when that interpreter is missing or another one is given; the
layer's Makefile refuses to build for another version. Each case fails before anything is created."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PYTHON"}}
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_makefile_finds_the_runtimes_python() -> None:
    proc = _make("-n", "-B", "install")  # -B: print the recipe even when installed
    assert proc.returncode == 0, proc.stderr
    assert f'test -n "{RUNTIME}"' in proc.stdout
    assert f"python{RUNTIME} -m venv .venv" in proc.stdout


def test_a_missing_interpreter_is_named_with_what_to_do() -> None:
    proc = _make("install", "RUNTIME_VERSION=3.99")
    assert proc.returncode != 0
    assert "Python 3.99 (the Lambda runtime in template.yaml) was not found" in proc.stderr
    assert "make PYTHON=/path/to/python3.99" in proc.stderr


def test_another_python_version_is_refused() -> None:
    proc = _make("install", "RUNTIME_VERSION=3.99", f"PYTHON={sys.executable}")
    assert proc.returncode != 0
    assert f"is Python {RUNTIME}; the Lambda runtime is python3.99" in proc.stderr


def test_the_layer_is_never_built_for_another_python(tmp_path: Path) -> None:
    other = "/usr/bin/python3.11" if RUNTIME != "3.11" else "/usr/bin/python3"
    proc = _make("-C", "layers/common", "build-CommonLayer", f"ARTIFACTS_DIR={tmp_path}", f"PYTHON={other}", cwd=ROOT)
    assert proc.returncode != 0
    assert f"but the runtime is python{RUNTIME}" in proc.stderr
    assert not (tmp_path / "python").exists()
