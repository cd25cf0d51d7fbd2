"""What ships: the SAM template validates and lints, ``sam build`` builds it for arm64 without Docker
(the layer's native wheels for Lambda's aarch64 and glibc), and each built function runs on nothing but
its own folder, the layer and the standard library, as it will in Lambda. This machine is x86_64, so
the functions run on the same layer built for it (layers/common/Makefile with ARCH=x86_64: the same
pins and the same ``cart_common``), which is also what ``make invoke`` runs.

The handlers run in fresh ``python -I -S`` subprocesses, so nothing installed in the test
environment (boto3 included, which Lambda provides) can hide a dependency missing from the layer.
They need the ``database_url`` fixture: a migrated database with the demo catalog, and the
sign-in checks the ``cognito`` fixture (moto's user pool, whose JWKS the built layer fetches).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
BIN = Path(sys.executable).parent  # the venv's bin: sam, and the runtime's python that sam build uses
RUNTIME = (sys.version_info[0], sys.version_info[1])  # the venv's: template.yaml's runtime (test_template checks)
CPYTHON_TAG = f"cp{RUNTIME[0]}{RUNTIME[1]}"
# Lambda's python3.12+ runtimes run on Amazon Linux 2023: glibc 2.34, on arm64 (aarch64).
LAMBDA_GLIBC = (2, 34)

# Logical id -> (operation, method, path): code in functions/<operation>/, event in events/<operation>.json.
CART_FUNCTIONS = {
    "GetCartFunction": ("get_cart", "GET", "/cart"),
    "AddItemFunction": ("add_item", "POST", "/cart/items"),
    "UpdateItemFunction": ("update_item", "PATCH", "/cart/items/{itemId}"),
    "RemoveItemFunction": ("remove_item", "DELETE", "/cart/items/{itemId}"),
    "ClearCartFunction": ("clear_cart", "DELETE", "/cart"),
    "MergeCartFunction": ("merge_cart", "POST", "/cart/merge"),
    "ValidateCartFunction": ("validate_cart", "POST", "/cart/validate"),
    "CheckoutFunction": ("checkout", "POST", "/cart/checkout"),
    "ApplyDiscountCodeFunction": ("apply_discount_code", "POST", "/cart/discount-codes"),
    "RemoveDiscountCodeFunction": ("remove_discount_code", "DELETE", "/cart/discount-codes/{code}"),
    "SaveItemFunction": ("save_item", "POST", "/cart/items/{itemId}/save"),
    "RestoreSavedItemFunction": ("restore_saved_item", "POST", "/cart/saved/{savedId}/restore"),
    "SyncCartFunction": ("sync_cart", "POST", "/cart/sync"),
    "AcceptPricesFunction": ("accept_prices", "POST", "/cart/prices/accept"),
    "BulkChangeFunction": ("bulk_change", "POST", "/cart/items/bulk"),
}
CART_HANDLER = "app.lambda_handler"
# Packages the built layer must contain (top-level import names).
LAYER_PACKAGES = (
    "cart_common", "aws_lambda_powertools", "aws_xray_sdk", "psycopg", "psycopg_binary", "pydantic",
    "jwt", "cryptography",  # PyJWT verifies Cognito's RS256 tokens with cryptography
)  # fmt: skip
COFFEE_MUG = "00000000-0000-4000-8000-000000000003"  # demo catalog, no variants
SIGNING_KEY = "packaging-test-signing-key-0123456789abcdef"

VALIDATE_TIMEOUT_S = 120
BUILD_TIMEOUT_S = 600
BUILD_BUDGET_S = 240  # "a few minutes on 2 cores"; a build that takes longer is a regression
INVOKE_TIMEOUT_S = 60


def _sam_env() -> dict[str, str]:
    """Offline SAM: a region and dummy credentials, no telemetry, the venv's python first."""
    env = {k: v for k, v in os.environ.items() if k not in {"AWS_PROFILE", "AWS_SESSION_TOKEN"}}
    env.update(
        PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]),
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        SAM_CLI_TELEMETRY="0",
    )
    return env


def _sam() -> str:
    sam = BIN / "sam"
    if not sam.exists():
        pytest.fail(f"AWS SAM CLI not found next to {sys.executable}; install aws-sam-cli in this environment")
    return str(sam)


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


# --- the template --------------------------------------------------------------------------------


def test_template_validates_and_lints_clean() -> None:
    proc = subprocess.run(
        [_sam(), "validate", "--lint", "--template-file", str(TEMPLATE), "--region", "us-east-1"],
        cwd=ROOT,
        env=_sam_env(),
        capture_output=True,
        text=True,
        timeout=VALIDATE_TIMEOUT_S,
    )
    assert proc.returncode == 0, _output(proc)
    assert "is a valid SAM Template" in proc.stdout + proc.stderr, _output(proc)


def test_template_shape_the_local_stack_reads() -> None:
    """local/ serves the API by reading CodeUri, Handler and the HttpApi event of each function."""
    from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]  # no py.typed, no stubs

    resources = yaml_parse(TEMPLATE.read_text())["Resources"]
    for logical_id, (operation, method, path) in CART_FUNCTIONS.items():
        props = resources[logical_id]["Properties"]
        assert (props["CodeUri"], props["Handler"]) == (f"functions/{operation}/", CART_HANDLER), logical_id
        events = list(props["Events"].values())
        assert len(events) == 1 and events[0]["Type"] == "HttpApi", logical_id
        assert (events[0]["Properties"]["Method"], events[0]["Properties"]["Path"]) == (method, path), logical_id
    migrate = resources["MigrateFunction"]["Properties"]
    assert (migrate["CodeUri"], migrate["Handler"]) == ("db/", "migrate.lambda_handler")
    assert "Events" not in migrate


# --- the build -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sam build`` once for this module, without Docker, into a temporary folder (cached and
    parallel come from samconfig.toml; the cache and dependency folders stay in the temporary
    folder, not the checkout)."""
    work = tmp_path_factory.mktemp("sam")
    build = work / "build"
    command = [
        _sam(), "build",
        "--template-file", str(TEMPLATE),
        "--build-dir", str(build),
        "--base-dir", str(ROOT),
        "--cache-dir", str(work / "cache"),
    ]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(command, cwd=work, env=_sam_env(), capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, _output(proc)
    assert elapsed < BUILD_BUDGET_S, f"sam build took {elapsed:.0f}s"
    print(f"sam build: {elapsed:.1f}s")
    return build


def test_layer_holds_cart_common_and_its_dependencies(build_dir: Path) -> None:
    layer = build_dir / "CommonLayer" / "python"
    for package in (*LAYER_PACKAGES, "pydantic_core"):
        assert (layer / package).is_dir(), f"{package} missing from the built layer"
    assert not (layer / "boto3").exists(), "boto3 comes with the Lambda runtime; keep it out of the layer"


def _fits_lambda(platform: str) -> bool:
    if platform in {"manylinux2014_aarch64"}:
        return True
    match = re.fullmatch(r"manylinux_(\d+)_(\d+)_aarch64", platform)
    return match is not None and (int(match[1]), int(match[2])) <= LAMBDA_GLIBC


def test_layer_wheels_run_on_the_lambda_runtime(build_dir: Path) -> None:
    """Compiled wheels must be aarch64 manylinux for glibc <= 2.34, built for the runtime's CPython
    (or its stable ABI)."""
    native = 0
    for wheel in sorted((build_dir / "CommonLayer" / "python").glob("*.dist-info/WHEEL")):
        tags = [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]
        platforms = {tag.rsplit("-", 1)[1] for tag in tags}
        if platforms == {"any"}:
            continue
        native += 1
        assert any(_fits_lambda(p) for p in platforms), f"{wheel.parent.name}: {sorted(platforms)}"
        for tag in tags:
            python, abi, _ = tag.split("-")
            stable = abi == "abi3" and python.startswith("cp3") and int(python[3:]) <= RUNTIME[1]
            assert python == CPYTHON_TAG or stable, f"{wheel.parent.name}: {tags}"
    assert native >= 4, "psycopg-binary, pydantic-core, cryptography and cffi are native"


_ELF_AARCH64 = 183  # e_machine


def test_layer_native_code_is_aarch64_for_lambdas_glibc(build_dir: Path) -> None:
    """Every shared object (the wheels' and the libraries they bundle, libpq and OpenSSL among them) is
    an aarch64 ELF that asks for no glibc symbol version newer than Amazon Linux 2023's."""
    objects = [p for p in (build_dir / "CommonLayer" / "python").rglob("*.so*") if p.is_file()]
    names = {p.name.split(".")[0] for p in objects}
    for expected in ("_psycopg", "_pydantic_core", "_rust", "_cffi_backend"):
        assert any(n.startswith(expected) for n in names), f"{expected} missing from the built layer"
    newest = (0, 0)
    for path in objects:
        data = path.read_bytes()
        assert data[:4] == b"\x7fELF" and data[4] == 2, path  # ELF, 64-bit
        assert int.from_bytes(data[18:20], "little") == _ELF_AARCH64, f"{path.name} is not aarch64"
        for major, minor in re.findall(rb"GLIBC_(\d+)\.(\d+)", data):
            newest = max(newest, (int(major), int(minor)))
    assert (2, 17) <= newest <= LAMBDA_GLIBC, newest


def test_layer_ships_compiled_bytecode(build_dir: Path) -> None:
    """/opt is read-only in Lambda: without shipped .pyc every cold start compiles the layer again."""
    python = build_dir / "CommonLayer" / "python"
    for package in ("cart_common", "psycopg", "pydantic", "aws_lambda_powertools"):
        sources = list((python / package).rglob("*.py"))
        compiled = list((python / package).rglob(f"__pycache__/*.cpython-{RUNTIME[0]}{RUNTIME[1]}.pyc"))
        assert sources and len(compiled) >= len(sources) * 0.9, (package, len(sources), len(compiled))


def test_layer_ships_the_amazon_root_cas(build_dir: Path) -> None:
    bundle = build_dir / "CommonLayer" / "python" / "cart_common" / "certs" / "amazon-root-ca.pem"
    assert bundle.read_text().count("-----BEGIN CERTIFICATE-----") == 5


def test_migrate_function_package(build_dir: Path) -> None:
    package = build_dir / "MigrateFunction"
    assert (package / "migrate.py").is_file()
    assert sorted(p.name for p in (package / "migrations").glob("*.sql")), "no migrations packaged"
    assert (package / "demo_catalog.sql").is_file()


# --- the built functions, isolated as in Lambda ----------------------------------------------------

# Runs under `python -I -S`: no site-packages, no PYTHONPATH, no current directory on sys.path.
_INVOKE = r"""
import importlib, importlib.util, json, sys

function_dir, layer_dir, handler, event_path, result_path = sys.argv[1:]
stdlib_path = list(sys.path)
sys.path[:0] = [function_dir, layer_dir]  # /var/task, then /opt/python


class FakeLambdaContext:
    function_name = "cart-api-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cart-api-test"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name = "/aws/lambda/cart-api-test"
    log_stream_name = "2025/11/21/[$LATEST]0123456789abcdef"

    @staticmethod
    def get_remaining_time_in_millis():
        return 10_000


module_name, function_name = handler.rsplit(".", 1)
with open(event_path) as f:
    event = json.load(f)
handler_module = importlib.import_module(module_name)
import gc  # noqa: E402

# cart_common pauses the collector during init in Lambda; the function must have resumed it.
gc_after_init = gc.isenabled()
response = getattr(handler_module, function_name)(event, FakeLambdaContext())

# aws-xray-sdk is imported only when tracing is on (in Lambda); check that it and its own
# dependencies import from the layer too.
import aws_xray_sdk.core  # noqa: E402,F401

# psycopg falls back to a system libpq, which this machine may have and Lambda does not.
import psycopg  # noqa: E402

# PyJWT without cryptography can only do HMAC: Cognito's tokens are RS256.
import jwt  # noqa: E402


def allowed(path):
    if path.startswith((function_dir, layer_dir)):
        return True
    return path.startswith(tuple(stdlib_path)) and "site-packages" not in path


loaded = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
with open(result_path, "w") as f:
    json.dump(
        {
            "response": response,
            "python": list(sys.version_info[:2]),
            "boto3_importable": importlib.util.find_spec("boto3") is not None,
            "psycopg_impl": psycopg.pq.__impl__,
            "jwt_has_crypto": jwt.algorithms.has_crypto,
            "outside": sorted(p for p in loaded if p and not allowed(p)),
            "gc_after_init": gc_after_init,
        },
        f,
    )
"""


def _invoke_built(
    build_dir: Path, logical_id: str, handler: str, event: Path, database_url: str, tmp: Path,
    extra_env: dict[str, str] | None = None,
) -> dict:  # fmt: skip
    from local.invoke import host_layer

    layer = host_layer(build_dir)
    """Run ``handler`` of the built function ``logical_id`` on ``event`` in an isolated interpreter."""
    result_path = tmp / f"{logical_id}.{event.stem}.result.json"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "DATABASE_URL": database_url,
        "SESSION_SIGNING_KEY": SIGNING_KEY,
        "POWERTOOLS_SERVICE_NAME": "cart-api",
        "POWERTOOLS_METRICS_NAMESPACE": "CartApi",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,  # Lambda always sets it
        **(extra_env or {}),
    }
    command = [
        sys.executable, "-I", "-S", "-c", _INVOKE,
        str(build_dir / logical_id), str(layer), handler, str(event), str(result_path),
    ]  # fmt: skip
    proc = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=INVOKE_TIMEOUT_S)
    assert proc.returncode == 0, _output(proc)
    result = json.loads(result_path.read_text())
    assert tuple(result["python"]) == RUNTIME, "the runtime's Python"
    assert not result["boto3_importable"], "boto3 leaked into the isolated interpreter"
    assert result["psycopg_impl"] == "binary", "psycopg-binary missing from the layer: Lambda has no libpq"
    assert result["jwt_has_crypto"] is True, "cryptography missing from the layer: PyJWT cannot verify RS256"
    assert result["outside"] == [], f"modules loaded from outside the package: {result['outside']}"
    assert result["gc_after_init"] is True, "init left garbage collection paused (wear cart_common.api.observed)"
    return result["response"]


def _headers(response: dict) -> dict[str, str]:
    return {name.lower(): value for name, value in (response.get("headers") or {}).items()}


@pytest.mark.parametrize("logical_id", list(CART_FUNCTIONS))
def test_built_function_runs_on_its_package_and_the_layer(
    build_dir: Path, database_url: str, tmp_path: Path, logical_id: str
) -> None:
    operation, method, path = CART_FUNCTIONS[logical_id]
    event_file = EVENTS / f"{operation}.json"
    event = json.loads(event_file.read_text())
    assert event["routeKey"] == f"{method} {path}", "the sample event matches the function's route"

    response = _invoke_built(build_dir, logical_id, CART_HANDLER, event_file, database_url, tmp_path)
    body = json.loads(response.get("body") or "null")
    headers = _headers(response)

    if logical_id == "MergeCartFunction":
        # The sample's bearer is a placeholder (and sign-in is not configured here): 401, never a
        # fall back to the guest session it also carries.
        assert response["statusCode"] == 401, response
        assert headers["content-type"] == "application/problem+json"
        assert body["code"] == "invalid_token"
        assert "x-cart-session" not in headers
        return

    if logical_id == "CheckoutFunction":
        # A guest is sent to sign in.
        assert response["statusCode"] == 401, response
        assert body["code"] == "authentication_required" and body["loginUrl"]
        return

    if logical_id == "ApplyDiscountCodeFunction":
        # A new guest has no cart to apply a code to.
        assert response["statusCode"] == 409, response
        assert body["code"] == "cart_empty"
        return

    if logical_id == "AcceptPricesFunction":
        # A new guest has no cart whose prices to accept.
        assert response["statusCode"] == 404, response
        assert body["code"] == "cart_not_found"
        return

    if logical_id == "RemoveDiscountCodeFunction":
        assert response["statusCode"] == 404, response
        assert body["code"] == "discount_code_not_applied"
        return

    if logical_id in ("UpdateItemFunction", "RemoveItemFunction", "SaveItemFunction", "RestoreSavedItemFunction"):
        # A new guest has no cart, so no such item (or saved item).
        assert response["statusCode"] == 404, response
        assert headers["content-type"] == "application/problem+json"
        expected = "saved_item_not_found" if logical_id == "RestoreSavedItemFunction" else "item_not_found"
        assert body["code"] == expected
        return

    assert response["statusCode"] == 200, response
    assert headers["content-type"].startswith("application/json")
    assert "x-cart-session" in headers, "a new guest is given a session token"
    if logical_id == "AddItemFunction":
        assert [(item["productId"], item["quantity"]) for item in body["items"]] == [(COFFEE_MUG, 2)]
        assert body["itemCount"] == 2
    elif logical_id == "SyncCartFunction":
        # A new guest's offline cart (two mugs and a T-shirt) becomes its server cart.
        assert body["cart"]["itemCount"] == 3 and body["cart"]["id"] is not None
        assert sorted((c["serverQuantity"], c["resolved"]) for c in body["conflicts"]) == [(0, 1), (0, 2)]
    elif logical_id == "BulkChangeFunction":
        # A new guest's two adds (two mugs and a T-shirt), made at once: one new cart, one version.
        assert {item["productId"]: item["quantity"] for item in body["items"]}[COFFEE_MUG] == 2
        assert body["itemCount"] == 3 and body["version"] == 1
    elif logical_id == "ValidateCartFunction":
        assert body["valid"] is False and body["issues"] == [] and body["cart"]["items"] == []
    else:
        assert body["items"] == [] and body["itemCount"] == 0


_HOSTILE_EVENTS = {
    # issue 11's reported 500s, each now a problem (or, for a bad token, a fresh session)
    "token": ({"x-cart-session": "v1.\u00e9t\u00e9.x"}, None, 200, None),
    "nesting": ({}, "[" * 10_000 + "]" * 10_000, 400, "malformed_json"),
    "integer": ({}, f'{{"productId": "{COFFEE_MUG}", "quantity": 1{"0" * 5000}}}', 422, "validation_failed"),
    "media type": ({"content-type": "text/plain"}, None, 415, "unsupported_media_type"),
    "if-match": ({"if-match": '"\u00b2"'}, None, 400, "invalid_precondition"),
}


@pytest.mark.parametrize("case", list(_HOSTILE_EVENTS))
def test_built_add_item_function_answers_hostile_input_with_a_problem(
    build_dir: Path, database_url: str, tmp_path: Path, case: str
) -> None:
    headers, body, status, code = _HOSTILE_EVENTS[case]
    event = json.loads((EVENTS / "add_item.json").read_text())
    event["headers"] = {**event["headers"], **headers}
    if body is not None:
        event["body"] = body
    event_file = tmp_path / "hostile.json"
    event_file.write_text(json.dumps(event))
    response = _invoke_built(build_dir, "AddItemFunction", CART_HANDLER, event_file, database_url, tmp_path)
    assert response["statusCode"] == status, response
    if code:
        assert json.loads(response["body"])["code"] == code


def test_built_migrate_function_runs_on_its_package_and_the_layer(
    build_dir: Path, database_url: str, tmp_path: Path
) -> None:
    """Against the already migrated database: it connects, takes the lock and has nothing to apply
    (the demo catalog is not empty either)."""
    response = _invoke_built(
        build_dir, "MigrateFunction", "migrate.lambda_handler", EVENTS / "migrate.json", database_url, tmp_path
    )
    assert response == {"applied": []}


# --- sign-in: the SignInMergeFunction as Cognito's trigger, and Cognito tokens ---------------------------


def test_built_sign_in_merge_function_answers_the_post_authentication_trigger_with_its_event(
    build_dir: Path, database_url: str, tmp_path: Path
) -> None:
    """The sample's cartSession is a placeholder: logged, not merged, and sign-in goes on."""
    event_file = EVENTS / "merge_cart_post_auth.json"
    event = json.loads(event_file.read_text())
    assert event["triggerSource"] == "PostAuthentication_Authentication"
    response = _invoke_built(build_dir, "SignInMergeFunction", CART_HANDLER, event_file, database_url, tmp_path)
    assert response == event


def test_built_functions_sign_in_with_cognito_tokens(
    build_dir: Path, database_url: str, tmp_path: Path, cognito, make_user
) -> None:
    """The whole sign-in on the built packages: a guest adds, the trigger merges at sign-in, and the
    user's bearer token (RS256, verified against the pool's JWKS) reads the merged cart."""
    from cart_common.session import mint_token

    user = make_user()
    guest_token = mint_token((SIGNING_KEY.encode(),))
    settings = cognito.settings()

    def invoke(logical_id: str, name: str, event: dict) -> dict:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(event))
        return _invoke_built(build_dir, logical_id, CART_HANDLER, path, database_url, tmp_path, settings)

    add = json.loads((EVENTS / "add_item.json").read_text())
    add["headers"]["x-cart-session"] = guest_token
    assert invoke("AddItemFunction", "guest-add", add)["statusCode"] == 200

    trigger = json.loads((EVENTS / "merge_cart_post_auth.json").read_text())
    trigger["userPoolId"], trigger["userName"] = cognito.user_pool_id, user.sub
    trigger["callerContext"]["clientId"] = cognito.client_id
    trigger["request"]["userAttributes"].update(sub=user.sub, email=user.email)
    trigger["request"]["clientMetadata"] = {"cartSession": guest_token}
    assert invoke("SignInMergeFunction", "trigger", trigger) == trigger

    get = json.loads((EVENTS / "get_cart.json").read_text())
    get["headers"]["authorization"] = f"Bearer {user.access_token}"
    response = invoke("GetCartFunction", "user-get", get)
    assert response["statusCode"] == 200, response
    cart = json.loads(response["body"])
    assert [(item["productId"], item["quantity"]) for item in cart["items"]] == [(COFFEE_MUG, 2)]

    merge = json.loads((EVENTS / "merge_cart.json").read_text())
    merge["headers"]["authorization"] = f"Bearer {user.id_token}"  # an ID token is accepted too
    merge["headers"]["x-cart-session"] = guest_token
    response = invoke("MergeCartFunction", "replay", merge)
    assert response["statusCode"] == 200, response
    replay = json.loads(response["body"])
    assert replay["merge"]["added"] == [] and replay["merge"]["combined"] == []  # merged once only
    assert [(item["productId"], item["quantity"]) for item in replay["cart"]["items"]] == [(COFFEE_MUG, 2)]

    response = invoke("MergeCartFunction", "placeholder", json.loads((EVENTS / "merge_cart.json").read_text()))
    assert response["statusCode"] == 401, response
    assert json.loads(response["body"])["code"] == "invalid_token"


# --- the cart lifecycle: the scheduled sweep and the admin listing -------------------------------------


def test_built_lifecycle_functions_run_on_their_packages_and_the_layer(
    build_dir: Path, database_url: str, tmp_path: Path
) -> None:
    """The sweep with its scheduled event finishes (a migrated database with nothing old in it is
    swept in well under the context's 10 s); the listing's sample carries a placeholder token, so
    it is answered 401 as a problem."""
    report = _invoke_built(
        build_dir, "ExpireCartsFunction", CART_HANDLER, EVENTS / "expire_carts.json", database_url, tmp_path
    )
    assert report["complete"] is True, report
    event_file = EVENTS / "list_abandoned_carts.json"
    assert json.loads(event_file.read_text())["routeKey"] == "GET /admin/carts/abandoned"
    response = _invoke_built(build_dir, "ListAbandonedCartsFunction", CART_HANDLER, event_file, database_url, tmp_path)
    assert response["statusCode"] == 401, response
    assert json.loads(response["body"])["code"] == "invalid_token"


# --- make invoke: every sample event on its built function -------------------------------------------

SAMPLE_EVENTS = {
    **{operation: logical_id for logical_id, (operation, _, _) in CART_FUNCTIONS.items()},
    "merge_cart_post_auth": "SignInMergeFunction",
    "list_abandoned_carts": "ListAbandonedCartsFunction",
    "expire_carts": "ExpireCartsFunction",
    "migrate": "MigrateFunction",
    # the order service's (issue 20): its event on the bus, its IAM routes, and the outbox relay
    "checkout_events": "CheckoutEventsFunction",
    "complete_checkout": "CompleteCheckoutFunction",
    "release_checkout": "ReleaseCheckoutFunction",
    "publish_events": "PublishEventsFunction",
    "recover_cart": "RecoverCartFunction",  # a recovery link (issue 20); the sample's token is no real one
    # lists and share links (issue 23): a first visit's lists; a link whose sample token is no real one (404)
    "get_lists": "ListsFunction",
    "get_shared_cart": "SharedCartFunction",
}


def test_every_sample_event_has_a_function() -> None:
    samples = {p.stem for p in EVENTS.glob("*.json")} - {"env"}
    assert samples == set(SAMPLE_EVENTS)


@pytest.mark.parametrize("event", sorted(SAMPLE_EVENTS))
def test_make_invoke_runs_the_built_function_on_its_sample_event(
    build_dir: Path, database_url: str, event: str
) -> None:
    """``make invoke FN=... EVENT=...``: the built function, with events/env.json, on the local database,
    prints the function's response."""
    logical_id = SAMPLE_EVENTS[event]
    env = {**os.environ, "DATABASE_URL": database_url}
    proc = subprocess.run(
        ["make", "--no-print-directory", "invoke", f"FN={logical_id}", f"EVENT=events/{event}.json",
         f"BUILD_DIR={build_dir}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=INVOKE_TIMEOUT_S * 3,
    )  # fmt: skip
    assert proc.returncode == 0, _output(proc)
    response = json.loads(proc.stdout.strip().splitlines()[-1])
    if event == "migrate":
        assert response == {"applied": []}
    elif event == "expire_carts":
        assert response["complete"] is True
    elif event == "merge_cart_post_auth":
        assert response == json.loads((EVENTS / f"{event}.json").read_text())  # the trigger answers its event
    elif event == "checkout_events":
        assert response["outcome"] == "checkout_not_found"  # the sample names no checkout of this database
    elif event == "publish_events":
        assert response == {"published": 0, "failed": 0, "batches": 0}  # env.json names no bus
    else:
        assert 200 <= response["statusCode"] < 500, response
        if response["statusCode"] >= 400:
            assert _headers(response)["content-type"] == "application/problem+json"
        assert "code" in json.loads(response["body"]) or response["statusCode"] == 200
