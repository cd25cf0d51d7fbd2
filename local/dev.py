"""``make dev``: PostgreSQL (embedded unless DATABASE_URL is set), migrations, the demo catalog when
the catalog is empty, the API on http://127.0.0.1:3000 (``PORT`` overrides), and the reference
storefront (storefront/, ``next dev``) on http://127.0.0.1:3001 (``STOREFRONT_PORT``; 0 turns it off;
``STOREFRONT_MODE=start`` serves the ``next build`` output instead), whose origin the API's CORS allows.

Sign-in: unless ``COGNITO_ISSUER`` names a real user pool, ``make dev`` also runs moto's Cognito (a
user pool, an app client and a demo user) and serves two dev-only routes that do what Cognito and
its Post Authentication trigger do in AWS: ``POST /dev/auth/signup`` and ``POST /dev/auth/login``.

``POST /dev/sweep`` runs the cart lifecycle sweep (the ExpireCartsFunction, hourly in AWS) once, now.

The stack's EventBridge bus is emulated (local/bus.py): the functions publish to it, ``GET /dev/events``
lists what was published, ``POST /dev/events`` puts an order service's event (PaymentSucceeded, ...).
The order service's IAM-authorised routes (``POST /checkouts/{checkoutId}/complete``, ``/release``) are
served without SigV4: locally nothing signs or checks requests.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from local import bus as local_bus
from local import cognito as local_cognito
from local import pgbouncer, postgres, stack

ROOT = Path(__file__).resolve().parent.parent

DEV_KEY_FILE = ROOT / ".local" / "session-signing-key"
# The storefront's trusted forwarder key (the API's TRUSTED_FORWARDER_KEYS, the storefront's
# CART_FORWARDER_KEY): one per checkout, like the signing key.
DEV_FORWARDER_KEY_FILE = ROOT / ".local" / "forwarder-key"
# The application role's password (the API signs in as it, through PgBouncer), one per checkout.
DEV_APP_PASSWORD_FILE = ROOT / ".local" / "app-db-password"
# A user of the throwaway moto pool, created on every start (moto keeps its users in memory).
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "Demo-password-1"  # noqa: S105 - dev only, never a real pool
# An administrator (Cognito group ``admin``: GET /admin/carts/abandoned), also new on every start.
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "Admin-password-1"  # noqa: S105 - dev only, never a real pool
ADMIN_GROUP = "admin"
STOREFRONT = ROOT / "storefront"
MERGE_FUNCTION = "SignInMergeFunction"  # the Post Authentication trigger in template.yaml
POST_AUTH_EVENT = ROOT / "events" / "merge_cart_post_auth.json"


def embedded_database_url(name: str = "cart") -> str:
    """A database called ``name`` on the embedded server, created on first use."""
    import psycopg

    server = postgres.embedded_server()
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(f'create database "{name}"')
    return server.get_uri(name)


def dev_key(path: Path) -> str:
    """A per-checkout key kept in ``path`` (made on first use, readable by its owner only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def dev_signing_key() -> str:
    """A per-checkout key, so guest sessions survive restarts of ``make dev``."""
    return dev_key(DEV_KEY_FILE)


def prepare_environment() -> str:
    os.environ.setdefault("DATABASE_URL", embedded_database_url())
    os.environ.setdefault("SESSION_SIGNING_KEY", dev_signing_key())
    # The storefront forwards each shopper's address with this key (its first, if a list is set).
    os.environ.setdefault("TRUSTED_FORWARDER_KEYS", dev_key(DEV_FORWARDER_KEY_FILE))
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "cart-api")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CartApi")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF lines would drown the request log
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    # Every local shopper (and every browser test) comes from 127.0.0.1: one address, many guests.
    os.environ.setdefault("RATE_LIMIT_GUEST_CARTS", "100000")
    return os.environ["DATABASE_URL"]


# --- what Cognito does in AWS, as dev-only routes ---------------------------------------------


def problem(status: int, code: str, title: str, detail: str | None = None) -> Response:
    """An RFC 9457 problem, shaped like the API's own."""
    body = {"type": f"/problems/{code}", "title": title, "status": status, "detail": detail or title, "code": code}
    return Response(json.dumps(body), status, content_type="application/problem+json")


def _bad_request(detail: str) -> Response:
    return problem(400, "bad_request", "Bad request", detail)


def _trigger_failed(detail: str) -> Response:
    return problem(502, "post_authentication_failed", "The Post Authentication trigger failed", detail)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _read_body(request: Request, *, optional: tuple[str, ...] = ()) -> dict[str, str] | Response:
    """``{email, password}`` (and the ``optional`` string fields) from a JSON body, or a 400 problem."""
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except ValueError:
        return problem(400, "malformed_json", "The request body is not valid JSON")
    if not isinstance(body, dict):
        return _bad_request('Send a JSON object: {"email": ..., "password": ...}')
    unknown = sorted(set(body) - {"email", "password", *optional})
    if unknown:
        return _bad_request(f"Unknown field(s): {', '.join(unknown)}")
    for name in ("email", "password", *optional):
        value = body.get(name)
        if (name in optional and value is None) or (isinstance(value, str) and value):
            continue
        return _bad_request(f"{name} must be a non-empty string")
    if not _EMAIL.match(body["email"]):
        return _bad_request("email must be an email address")
    return body


def _aws_error(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    code: str = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else ""
    return code


def _aws_message(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    message: str = exc.response["Error"]["Message"] if isinstance(exc, ClientError) else str(exc)
    return message


def post_authentication_event(
    pool: local_cognito.LocalCognito, user: dict[str, Any], cart_session: str | None
) -> dict[str, Any]:
    """The event Cognito sends the Post Authentication trigger after a successful sign-in
    (``user``: ``admin_get_user``'s answer). ``clientMetadata`` is what the storefront passed as
    ClientMetadata: Amplify's ``signIn({..., options: {clientMetadata: {cartSession}}})``."""
    event: dict[str, Any] = json.loads(POST_AUTH_EVENT.read_text())
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    event["region"] = local_cognito.REGION
    event["userPoolId"] = pool.user_pool_id
    event["userName"] = user["Username"]  # the sub, in a pool whose users sign in with their email
    event["callerContext"]["clientId"] = pool.client_id
    event["request"]["userAttributes"] = {**attributes, "cognito:user_status": user["UserStatus"]}
    if cart_session:
        event["request"]["clientMetadata"] = {"cartSession": cart_session}
    else:
        event["request"].pop("clientMetadata", None)
    event["response"] = {}
    return event


def auth_routes(pool: local_cognito.LocalCognito, invoker: stack.Invoker) -> dict[str, stack.DevRoute]:
    """``POST /dev/auth/signup`` and ``POST /dev/auth/login`` against ``pool``. moto never invokes
    Lambda triggers, so the login invokes the MergeCartFunction with a Post Authentication event
    itself, through ``invoker`` (the execution environments the HTTP routes use), after a successful
    sign-in only, as Cognito does."""

    def signup(request: Request) -> Response:
        body = _read_body(request)
        if isinstance(body, Response):
            return body
        try:
            sub = pool.sign_up(body["email"], body["password"])
        except Exception as exc:
            code = _aws_error(exc)
            if code == "UsernameExistsException":
                return problem(409, "user_exists", "A user with this email already exists")
            # sign_up creates the user, then sets the password: don't leave a half-made user behind.
            with contextlib.suppress(Exception):  # there was none
                pool.client().admin_delete_user(UserPoolId=pool.user_pool_id, Username=body["email"])
            if code == "InvalidPasswordException":
                detail = "Use upper and lower case letters, a digit and a symbol"
                return problem(400, "invalid_password", "The password breaks the pool's policy", detail)
            if code == "InvalidParameterException":
                return _bad_request(_aws_message(exc))
            raise
        return stack.json_response({"email": body["email"], "sub": sub}, 201)

    def login(request: Request) -> Response:
        body = _read_body(request, optional=("cartSession",))
        if isinstance(body, Response):
            return body
        try:
            tokens = pool.sign_in(body["email"], body["password"])
        except Exception as exc:
            if _aws_error(exc) in ("NotAuthorizedException", "UserNotFoundException"):
                # One answer for both, as a pool with PreventUserExistenceErrors gives.
                return problem(401, "invalid_credentials", "Incorrect email or password")
            if _aws_error(exc) == "UserNotConfirmedException":
                return problem(403, "user_not_confirmed", "The user has not confirmed their email yet")
            raise
        user = pool.client().admin_get_user(UserPoolId=pool.user_pool_id, Username=body["email"])
        event = post_authentication_event(pool, user, body.get("cartSession"))
        try:
            result = invoker.invoke(MERGE_FUNCTION, event)
        except Exception as exc:
            # In AWS a failing Post Authentication trigger fails the sign-in: no tokens.
            return _trigger_failed(f"{MERGE_FUNCTION} raised {type(exc).__name__}; Cognito would refuse this sign-in")
        if not isinstance(result, dict):
            return _trigger_failed(f"{MERGE_FUNCTION} must return the event; Cognito would refuse this sign-in")
        response = stack.json_response(
            {
                "idToken": tokens["IdToken"],
                "accessToken": tokens["AccessToken"],
                "refreshToken": tokens["RefreshToken"],
                "expiresIn": tokens["ExpiresIn"],
            }
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    return {
        "/dev/auth/signup": stack.DevRoute(signup, methods=("POST",)),
        "/dev/auth/login": stack.DevRoute(login, methods=("POST",)),
    }


def start_cognito() -> local_cognito.LocalCognito | None:
    """moto's Cognito with a demo user, its settings in this process's environment (which the
    worker processes inherit); ``None`` when ``COGNITO_ISSUER`` names a real pool already."""
    if os.environ.get("COGNITO_ISSUER"):
        return None
    pool = local_cognito.start()
    try:
        os.environ.update(pool.settings())
        pool.sign_up(DEMO_EMAIL, DEMO_PASSWORD)
        pool.sign_up(ADMIN_EMAIL, ADMIN_PASSWORD)
        pool.add_to_group(ADMIN_EMAIL, ADMIN_GROUP)
    except BaseException:
        pool.stop()
        raise
    return pool


# --- the lifecycle sweep on demand ----------------------------------------------------------------

SWEEP_FUNCTION = "ExpireCartsFunction"  # on an EventBridge schedule in AWS
SWEEP_EVENT = ROOT / "events" / "expire_carts.json"


def sweep_routes(invoker: stack.Invoker) -> dict[str, stack.DevRoute]:
    """``POST /dev/sweep``: one run of the lifecycle sweep now (expiry, abandoned carts, retention),
    invoked with the scheduled event in an execution environment like any function; answers the
    run's report. The local stack gives it the template's global timeout, so a run sweeps for a few
    seconds and says ``complete: false`` when it left work for the next one."""

    def sweep(_: Request) -> Response:
        return stack.json_response(invoker.invoke(SWEEP_FUNCTION, json.loads(SWEEP_EVENT.read_text())))

    return {"/dev/sweep": stack.DevRoute(sweep, methods=("POST",))}


# --- the event bus ------------------------------------------------------------------------------


def bus_routes(bus: local_bus.LocalBus) -> dict[str, stack.DevRoute]:
    """The stack's EventBridge bus, locally (local/bus.py): ``PutEvents`` on ``POST /`` (where the
    functions' AWS_ENDPOINT_URL_EVENTBRIDGE points), and ``GET``/``POST /dev/events``."""
    return {
        "/": stack.DevRoute(bus.put_events, methods=("POST",)),
        "/dev/events": stack.DevRoute(bus.dev_events, methods=("GET", "POST")),
    }


def event_examples(port: int) -> list[str]:
    """How to try each event the order service sends (``make dev`` prints them)."""
    url, source = f"http://127.0.0.1:{port}/dev/events", "shop.orders"
    lines = [f"  curl -s {url}   # what was published, oldest first"]
    for detail_type, detail in (
        ("PaymentSucceeded", '{"checkoutId":"<checkoutId>","orderId":"order-1"}'),
        ("PaymentFailed", '{"checkoutId":"<checkoutId>"}'),
        ("CheckoutCancelled", '{"checkoutId":"<checkoutId>"}'),
    ):
        body = f'{{"source":"{source}","detail-type":"{detail_type}","detail":{detail}}}'
        lines.append(f"  curl -s -H 'content-type: application/json' -d '{body}' {url}")
    return lines


def catalog_examples(port: int) -> list[str]:
    """How to try a catalog event and an import (``make dev`` prints them): the mug's price and stock."""
    url, mug = f"http://127.0.0.1:{port}/dev/events", "00000000-0000-4000-8000-000000000003"
    lines = []
    for detail_type, detail in (
        ("PriceChanged", f'{{"productId":"{mug}","version":1,"price":1100,"currency":"USD"}}'),
        ("StockSet", f'{{"productId":"{mug}","version":2,"stock":0}}'),
    ):
        body = f'{{"source":"shop.catalog","detail-type":"{detail_type}","detail":{detail}}}'
        lines.append(f"  curl -s -H 'content-type: application/json' -d '{body}' {url}")
    lines.append("  make import FILE=path/to/catalog.jsonl   # or .csv; the report in reports/ beside it")
    return lines


# --- the storefront -----------------------------------------------------------------------------


def start_storefront(
    port: int, api_port: int, pool: local_cognito.LocalCognito | None
) -> subprocess.Popen[bytes] | None:
    """``next dev`` (or ``next start`` with STOREFRONT_MODE=start) in storefront/, calling the API on
    ``api_port`` and signing in against ``pool`` (or the COGNITO_* settings of a real pool);
    ``None`` when STOREFRONT_PORT is 0 or ``make install`` has not installed its packages."""
    next_bin = STOREFRONT / "node_modules" / ".bin" / "next"
    if port == 0:
        return None
    if not next_bin.exists():
        print("Storefront: not installed (run `make install`, which runs `npm ci` in storefront/)")
        return None
    mode = os.environ.get("STOREFRONT_MODE", "dev")
    if mode not in ("dev", "start"):
        raise SystemExit(f"STOREFRONT_MODE must be dev or start, not {mode!r}")
    env = {**os.environ, "NEXT_TELEMETRY_DISABLED": "1", "CART_API_URL": f"http://127.0.0.1:{api_port}"}
    # The checkout's demo payment step: the storefront plays the payment service on the local bus.
    env.setdefault("CART_DEMO_PAYMENTS", "1")
    # The API's forwarder key, so each shopper's address (here the browser's connection: Next.js
    # sets x-forwarded-for to it) chooses the guest-carts bucket, not the storefront's.
    forwarder_keys = [key.strip() for key in os.environ.get("TRUSTED_FORWARDER_KEYS", "").split(",") if key.strip()]
    if forwarder_keys:
        env.setdefault("CART_FORWARDER_KEY", forwarder_keys[0])
    if pool:
        env |= {
            "COGNITO_ENDPOINT": pool.endpoint,
            "COGNITO_CLIENT_ID": pool.client_id,
            "COGNITO_REGION": local_cognito.REGION,
        }
    return subprocess.Popen(  # noqa: S603 - the storefront's own pinned Next.js
        [str(next_bin), mode, "-H", "127.0.0.1", "-p", str(port)],
        cwd=STOREFRONT,
        env=env,
        start_new_session=True,  # its own process group: stopped with everything it started
    )


def stop_storefront(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


# --- make dev -----------------------------------------------------------------------------------


def without_password(conninfo: str) -> str:
    params = {key: value for key, value in conninfo_to_dict(conninfo).items() if key != "password"}
    return make_conninfo("", **params)


def connect_api_database(admin_url: str) -> tuple[list[str], pgbouncer.PgBouncer | None]:
    """Migrations (as ``admin_url``'s user), the application role the API signs in as, and the API's
    DATABASE_URL in this environment: through PgBouncer in transaction mode, as RDS Proxy is in AWS
    (``LOCAL_PROXY=none``: straight to PostgreSQL). Returns what was applied and the PgBouncer to stop."""
    import psycopg

    import migrate
    from app_role import AppRole
    from cart_common.config import Settings

    settings = Settings.from_env()
    password = dev_key(DEV_APP_PASSWORD_FILE)
    role = AppRole(pgbouncer.APP_ROLE, password, settings.db_statement_timeout_ms)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        applied = migrate.migrate(
            conn, demo=True, statement_timeout_ms=settings.migration_statement_timeout_ms, app_role=role
        )
    proxy = os.environ.get("LOCAL_PROXY", "pgbouncer")
    if proxy not in ("pgbouncer", "none"):
        raise SystemExit(f"LOCAL_PROXY must be pgbouncer or none, not {proxy!r}")
    api_url, bouncer = pgbouncer.api_database(admin_url, password, proxy=proxy == "pgbouncer")
    os.environ["DATABASE_URL"] = api_url  # before the worker processes start: they inherit it
    return applied, bouncer


def main() -> None:
    # SIGTERM (CI, process managers) stops the worker processes and moto's server too, not just
    # this one: installed first, so no later step can be interrupted without its clean-up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    url = prepare_environment()
    applied, bouncer = connect_api_database(url)
    try:
        serve(url, applied, bouncer)
    finally:
        if bouncer:
            bouncer.stop()


def serve(url: str, applied: list[str], bouncer: pgbouncer.PgBouncer | None) -> None:
    port = int(os.environ.get("PORT", "3000"))
    storefront_port = int(os.environ.get("STOREFRONT_PORT", "3001"))
    storefront_origins = [f"http://{host}:{storefront_port}" for host in ("127.0.0.1", "localhost")]
    if storefront_port:  # recovery links (admin listing, CartAbandoned) open this storefront
        os.environ.setdefault("STOREFRONT_URL", f"http://127.0.0.1:{storefront_port}")
    # Before the invoker: the execution environments read the Cognito settings from the environment.
    pool = start_cognito()
    storefront: subprocess.Popen[bytes] | None = None
    try:
        # Before the invoker: the execution environments publish to this stack's own bus (local/bus.py).
        for key, value in local_bus.environment(f"http://127.0.0.1:{port}").items():
            if key in ("AWS_ENDPOINT_URL_EVENTBRIDGE", "EVENT_BUS_NAME"):
                os.environ[key] = value
            else:  # credentials and region: yours, if you have them
                os.environ.setdefault(key, value)
        invoker = stack.make_invoker()
        try:
            bus = local_bus.LocalBus(invoker.invoke)
            routes: dict[str, stack.DevRoute] = stack.dev_routes() | sweep_routes(invoker) | bus_routes(bus)
            if pool:
                routes |= auth_routes(pool, invoker)
            app = stack.LocalApi(invoker, routes, extra_origins=storefront_origins if storefront_port else ())
            print(f"Database: {without_password(url)}")
            via = f"PgBouncer on 127.0.0.1:{bouncer.port}, transaction pooling" if bouncer else "LOCAL_PROXY=none"
            print(f"API signs in as: {pgbouncer.APP_ROLE} ({via})")
            print(f"Migrations applied: {', '.join(applied) or 'none (up to date)'}")
            if pool:
                print(f"Cognito (moto): {pool.endpoint}  user pool {pool.user_pool_id}, app client {pool.client_id}")
                print(f"Demo user: {DEMO_EMAIL} / {DEMO_PASSWORD}  (POST /dev/auth/login, /dev/auth/signup)")
                admin_route = f"group {ADMIN_GROUP}: GET /admin/carts/abandoned"
                print(f"Demo admin: {ADMIN_EMAIL} / {ADMIN_PASSWORD}  ({admin_route})")
            else:
                print(f"Cognito: {os.environ['COGNITO_ISSUER']} (COGNITO_ISSUER; no dev sign-in routes)")
            print(f"Cart API: http://127.0.0.1:{port}  (catalog: /catalog/products, OpenAPI: /openapi.json)")
            for route in app.routes:
                print(f"  {route.method:6} {route.path:28} -> {route.function}")
            for path, dev_route in app.dev_routes.items():
                print(f"  {','.join(dev_route.methods):6} {path:28} (local only)")
            print("Event bus (local): PaymentSucceeded completes a checkout; PaymentFailed, CheckoutCancelled release:")
            print("\n".join(event_examples(port)))
            print("Catalog (docs/catalog.md): the shop's events, applied before the POST returns; or a file:")
            print("\n".join(catalog_examples(port)))
            storefront = start_storefront(storefront_port, port, pool)
            if storefront:
                mode = os.environ.get("STOREFRONT_MODE", "dev")
                print(f"Storefront: http://127.0.0.1:{storefront_port}  (storefront/, next {mode})")
            sys.stdout.flush()
            run_simple("127.0.0.1", port, app, threaded=True)
        finally:
            stop_storefront(storefront)
            invoker.close()
    finally:
        if pool:
            pool.stop()


if __name__ == "__main__":
    main()
