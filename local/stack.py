"""The local HTTP stack: a Werkzeug WSGI app that turns each request into an API Gateway HTTP API
(payload 2.0) event, invokes the function ``template.yaml`` maps the route to, and turns the
function's result back into an HTTP response, as API Gateway does.

The event mapping is written here because no maintained library does this direction (Mangum and
friends go the other way, from events to ASGI). It follows the documented payload format 2.0:
lower-cased headers with repeated values comma-joined, cookies moved to ``cookies``,
``rawQueryString``, ``pathParameters``, ``requestContext.http`` and a base64 body when it is not
UTF-8.

Functions run the way Lambda runs them: each *execution environment* is a separate worker process
that imports the function modules once and keeps its own database connection across invocations,
and handles one event at a time. (Powertools' resolver keeps the current event in class state, so
two events must never share a process at once.)
"""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import json
import logging
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, Protocol

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local import template

ROOT = template.ROOT
log = logging.getLogger(__name__)


# --- functions ------------------------------------------------------------------------------


# A Lambda handler: (event, context) -> response.
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def load_function(route: template.Route | template.Function) -> Handler:
    """Import a function's handler module from its code folder under a unique module name
    (every function's module is called ``app``)."""
    module_name, attr = route.handler.rsplit(".", 1)
    name = route.function if isinstance(route, template.Route) else route.name
    unique = f"fn_{name}_{module_name}"
    module: ModuleType | None = sys.modules.get(unique)
    if module is None:
        spec = importlib.util.spec_from_file_location(unique, route.code_dir / f"{module_name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
    handler: Handler = getattr(module, attr)
    return handler


class LambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_s: int, memory_mb: int = 256) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_worker_functions: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {}
_worker_timeout_s = 10


def _worker_init(timeout_s: int) -> None:
    global _worker_timeout_s
    _worker_timeout_s = timeout_s
    for function in template.functions():
        _worker_functions[function.name] = load_function(function)


def _worker_invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return _worker_functions[function](event, LambdaContext(function, _worker_timeout_s))


class Invoker(Protocol):
    """What runs the functions for the local stack: ``InProcessInvoker``, ``ProcessPoolInvoker``, or a
    test's wrapper around one."""

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


class InProcessInvoker:
    """One execution environment in this process (tests, and ``LOCAL_WORKERS=0``)."""

    def __init__(self, functions: Iterable[template.Function], timeout_s: int) -> None:
        self._functions = {function.name: load_function(function) for function in functions}
        self._timeout_s = timeout_s
        self._lock = threading.Lock()

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._functions[function](event, LambdaContext(function, self._timeout_s))

    def close(self) -> None:
        pass


class ProcessPoolInvoker:
    """``workers`` execution environments, each a process, like Lambda's concurrency."""

    def __init__(self, workers: int, timeout_s: int) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded server
            initializer=_worker_init,
            initargs=(timeout_s,),
        )

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        return self._pool.submit(_worker_invoke, function, event).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# --- events ---------------------------------------------------------------------------------


def to_event(request: Request, route: template.Route, path_parameters: Mapping[str, str]) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        name = name.lower()
        if name == "cookie":
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    cookies = [c.strip() for h in request.headers.getlist("Cookie") for c in h.split(";") if c.strip()]
    raw = request.get_data(cache=False)
    try:
        body, is_base64 = (raw.decode("utf-8"), False) if raw else (None, False)
    except UnicodeDecodeError:
        body, is_base64 = base64.b64encode(raw).decode("ascii"), True
    now = datetime.now(UTC)
    query: dict[str, str] = {}
    for key, values in request.args.lists():
        query[key] = ",".join(values)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body is not None:
        event["body"] = body
    return event


def from_result(result: Any) -> Response:
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(json.dumps({"message": "Internal Server Error"}), 500, content_type="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    response = Response(data, status=int(result["statusCode"]))
    response.headers.clear()
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


# --- the WSGI app ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DevRoute:
    """A route only the local stack serves (the demo catalog, the OpenAPI document, the stand-ins
    for what Cognito does in AWS): a WSGI-level handler and the methods it answers."""

    handler: Callable[[Request], Response]
    methods: tuple[str, ...] = ("GET",)


DevRoutes = Mapping[str, DevRoute | Callable[[Request], Response]]


def _dev_route(route: DevRoute | Callable[[Request], Response]) -> DevRoute:
    """A bare handler is a GET route."""
    return route if isinstance(route, DevRoute) else DevRoute(route)


class LocalApi:
    def __init__(
        self,
        invoker: Invoker,
        dev_routes: DevRoutes | None = None,
        extra_origins: Iterable[str] = (),
    ) -> None:
        doc = template.load()
        self.routes = template.routes(doc)
        self.cors = template.cors(doc)
        if self.cors and extra_origins:
            # What the AllowedOrigins parameter adds in AWS: e.g. the storefront of `make dev`.
            origins = (*self.cors.allow_origins, *(o for o in extra_origins if o not in self.cors.allow_origins))
            self.cors = dataclasses.replace(self.cors, allow_origins=origins)
        self.invoker = invoker
        self.dev_routes = {path: _dev_route(route) for path, route in (dev_routes or {}).items()}
        self.url_map = Map(
            [Rule(route.werkzeug_rule, methods=[route.method], endpoint=route) for route in self.routes]
            + [Rule(path, methods=list(route.methods), endpoint=path) for path, route in self.dev_routes.items()]
        )

    def _cors_headers(self, request: Request, response: Response) -> None:
        origin = request.headers.get("Origin")
        if not (self.cors and origin and (origin in self.cors.allow_origins or "*" in self.cors.allow_origins)):
            return
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        if self.cors.allow_credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
        if self.cors.expose_headers:
            response.headers["Access-Control-Expose-Headers"] = ",".join(self.cors.expose_headers)

    def _preflight(self, request: Request) -> Response:
        response = Response(status=204)
        self._cors_headers(request, response)
        if self.cors and "Access-Control-Allow-Origin" in response.headers:
            response.headers["Access-Control-Allow-Methods"] = ",".join(self.cors.allow_methods)
            response.headers["Access-Control-Allow-Headers"] = ",".join(self.cors.allow_headers)
            response.headers["Access-Control-Max-Age"] = str(self.cors.max_age)
        return response

    def dispatch(self, request: Request) -> Response:
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            return self._preflight(request)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, arguments = adapter.match()
        except (NotFound, MethodNotAllowed):
            # API Gateway's own answer for a route that is not in the API.
            return Response(json.dumps({"message": "Not Found"}), 404, content_type="application/json")
        except HTTPException as exc:
            return exc.get_response()
        if isinstance(endpoint, str):
            return self.dev_routes[endpoint].handler(request)
        event = to_event(request, endpoint, arguments)
        try:
            result = self.invoker.invoke(endpoint.function, event)
        except Exception:  # a crashed function is API Gateway's 500, never a traceback to the client
            log.exception("Function %s crashed", endpoint.function)
            return Response(json.dumps({"message": "Internal Server Error"}), 500, content_type="application/json")
        return from_result(result)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        self._cors_headers(request, response)
        return response(environ, start_response)


def openapi_document() -> dict[str, Any]:
    """One OpenAPI document merged from every function's resolver (Powertools' OpenAPIMerge)."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    merge = OpenAPIMerge(title="Cart API", version="1.0.0", description="Serverless shopping-cart API")
    for route in template.routes():
        load_function(route)  # registers the module
        module = sys.modules[f"fn_{route.function}_{route.handler.rsplit('.', 1)[0]}"]
        merge.add_schema(module.app.get_openapi_schema())
    from local.contract import document_contract

    # JSON-ready (enum values, not their reprs), then what the routes' signatures cannot say
    return document_contract(json.loads(merge.get_openapi_json_schema()))


def make_invoker(workers: int | None = None) -> InProcessInvoker | ProcessPoolInvoker:
    workers = int(os.environ.get("LOCAL_WORKERS", "4")) if workers is None else workers
    timeout_s = template.function_timeout_s()
    if workers <= 0:
        return InProcessInvoker(template.functions(), timeout_s)
    return ProcessPoolInvoker(workers, timeout_s)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, default=str), status, content_type="application/json")


def dev_routes() -> dict[str, DevRoute]:
    """Routes only the local stack serves: the OpenAPI document (the catalog is the template's own
    GET /catalog/products, as in AWS)."""
    openapi_cache: dict[str, Any] = {}

    def openapi(_: Request) -> Response:
        if "doc" not in openapi_cache:
            openapi_cache["doc"] = openapi_document()
        return json_response(openapi_cache["doc"])

    return {"/openapi.json": DevRoute(openapi)}
