"""``make invoke FN=AddItemFunction EVENT=events/add_item.json``: what ``sam local invoke`` does, without
Docker. It runs the ``sam build`` output of one function (its folder and the built layer) in a fresh,
isolated interpreter (``python -I -S``: the standard library, the function, the layer; nothing installed
on this machine), with the environment ``sam local invoke --env-vars events/env.json`` would give it:
the template's variables (parameters at their defaults), then env.json's ``Parameters`` and the
function's own section. The response is printed on stdout as JSON, the function's logs on stderr.

Two differences, both because this is not Lambda's arm64 machine:
- the layer's native wheels (psycopg-binary, pydantic-core, cryptography, ...) are this machine's: the
  same pinned requirements and the same ``cart_common``, built by layers/common/Makefile for this
  architecture beside the build (``host-layer/``); everything else is the build's own output;
- ``DATABASE_URL`` is the local database (``DATABASE_URL`` if set, else the embedded PostgreSQL that
  ``make dev`` uses, migrated, with the demo catalog) rather than env.json's ``host.docker.internal``,
  which only a container can reach.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from local import template

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_BUILD = ROOT / ".aws-sam" / "build"

# Runs under `python -I -S`; argv: function dir, layer dir, handler, event file.
_RUN = r"""
import importlib, json, sys

function_dir, layer_dir, handler, event_path = sys.argv[1:]
sys.path[:0] = [function_dir, layer_dir]  # /var/task, then /opt/python


class LambdaContext:
    function_name = "local-invoke"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:local-invoke"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/local-invoke"
    log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis():
        return 60_000


module_name, attr = handler.rsplit(".", 1)
with open(event_path) as f:
    event = json.load(f)
stdout, sys.stdout = sys.stdout, sys.stderr  # the function's prints are logs; stdout is the response
response = getattr(importlib.import_module(module_name), attr)(event, LambdaContext())
stdout.write(json.dumps(response, default=str) + "\n")
stdout.flush()  # not the interpreter's sys.stdout any more: it would not be flushed at exit
"""


def sam_build(build_dir: Path) -> None:
    """``sam build`` (cached) of the whole template, as ``sam local invoke`` expects it first."""
    sam = Path(sys.executable).parent / "sam"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    subprocess.run(  # noqa: S603 - the venv's sam, fixed arguments
        [str(sam), "build", "--cached", "--template-file", str(ROOT / "template.yaml"),
         "--build-dir", str(build_dir), "--base-dir", str(ROOT)],
        check=True, cwd=ROOT, env=env, stdout=sys.stderr,
    )  # fmt: skip


def host_layer(build_dir: Path) -> Path:
    """The built layer's contents for this machine's architecture (rebuilt when the build's is newer)."""
    built = build_dir / "CommonLayer" / "python"
    target = build_dir.parent / f"host-layer-{platform.machine()}"
    stamp = target / ".built"
    if not stamp.exists() or stamp.stat().st_mtime < built.stat().st_mtime:
        arch = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
        shutil.rmtree(target, ignore_errors=True)
        make = shutil.which("make") or "make"
        subprocess.run(  # noqa: S603 - make, fixed arguments
            [make, "--no-print-directory", "-C", str(ROOT / "layers" / "common"), "build-CommonLayer",
             f"ARTIFACTS_DIR={target}", f"ARCH={arch}", f"PYTHON={sys.executable}"],
            check=True, stdout=sys.stderr,
        )  # fmt: skip
        stamp.touch()
    return target / "python"


def _default(value: Any, parameters: dict[str, Any]) -> str | None:
    """A template value as ``sam local invoke`` resolves it offline: literals, and Refs to parameters
    (their defaults); anything else (conditions, resources) stays unset."""
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
        default = parameters[value["Ref"]].get("Default")
        return None if default is None else str(default)
    return None


def function_environment(name: str, env_json: Path, database_url: str) -> dict[str, str]:
    spec = template.load()
    parameters = spec.get("Parameters", {})
    resource = spec["Resources"][name]
    declared = {
        **spec.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
        **resource.get("Properties", {}).get("Environment", {}).get("Variables", {}),
    }
    env = {key: value for key, value in ((k, _default(v, parameters)) for k, v in declared.items()) if value}
    overrides = json.loads(env_json.read_text()) if env_json.exists() else {}
    for section in (overrides.get("Parameters", {}), overrides.get(name, {})):
        env.update({key: str(value) for key, value in section.items() if key in declared})
    env["DATABASE_URL"] = database_url
    return {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        # EMF lines would mix with the function's logs; nothing collects them here.
        "POWERTOOLS_METRICS_DISABLED": "true",
        **env,
    }


def local_database() -> str:
    """DATABASE_URL, or the embedded server's ``cart`` database, migrated, with the demo catalog."""
    import psycopg

    import migrate
    from local.dev import embedded_database_url

    url = os.environ.get("DATABASE_URL") or embedded_database_url()
    with psycopg.connect(url, autocommit=True) as conn:
        migrate.migrate(conn, demo=True)
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description="Run one built function on an event, without Docker.")
    parser.add_argument("function", help="the logical id in template.yaml, e.g. AddItemFunction")
    parser.add_argument("event", type=Path, help="an event file, e.g. events/add_item.json")
    parser.add_argument("--env-vars", type=Path, default=ROOT / "events" / "env.json")
    parser.add_argument("--build-dir", type=Path, help="an existing `sam build` output (default: build now)")
    args = parser.parse_args()

    functions = {f.name: f for f in template.functions()}
    if args.function not in functions:
        parser.error(f"{args.function} is not a function in template.yaml: {', '.join(sorted(functions))}")
    if not args.event.is_file():
        parser.error(f"no event file {args.event}")
    build_dir = args.build_dir
    if build_dir is None:
        build_dir = DEFAULT_BUILD
        sam_build(build_dir)
    layer = host_layer(build_dir.resolve())
    env = function_environment(args.function, args.env_vars, local_database())
    proc = subprocess.run(  # noqa: S603 - our own interpreter; the function named in template.yaml
        [sys.executable, "-I", "-S", "-c", _RUN, str(build_dir / args.function), str(layer),
         functions[args.function].handler, str(args.event.resolve())],
        env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    sys.stdout.write(proc.stdout)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
