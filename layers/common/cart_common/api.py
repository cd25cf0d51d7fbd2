"""The one resolver factory every cart function uses: Powertools' HTTP API resolver with request
validation, the caller's session, observability, and the one place errors become responses."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler import Response as Response  # also for routes that set their own headers
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path as Path  # for functions' path parameters
from aws_lambda_powertools.event_handler.openapi.params import Query as Query  # for functions' query parameters
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from cart_common import init_done, oplog
from cart_common.address import address_key, client_address
from cart_common.config import get_settings
from cart_common.db import get_database
from cart_common.errors import (
    PROBLEM_CONTENT_TYPE,
    InternalError,
    InvalidIdempotencyKey,
    InvalidPrecondition,
    MalformedJson,
    NotModified,
    PayloadTooLarge,
    Problem,
    RouteNotFound,
    UnsupportedMediaType,
    ValidationFailed,
)
from cart_common.models import Problem as ProblemModel
from cart_common.oplog import logger as logger  # the layer's one Logger (defined with the operations log)
from cart_common.request import MAX_BODY_BYTES, media_type_problem, read_json
from cart_common.session import HEADER_NAME, Session, resolve

metrics = Metrics(namespace="CartApi", service="cart-api")


def _sdk_tracing_enabled() -> bool:
    """Powertools' Tracer loads the X-Ray SDK (and botocore with it): about 200 ms of every cold
    start. Lambda's active tracing records each invocation without it, so the SDK is opt-in
    (POWERTOOLS_TRACE_DISABLED=false, the template's XRaySdkTracing parameter)."""
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() in ("0", "false", "no")


STATUS_TEXT = {
    400: "Malformed request",
    413: "The request body is larger than the API accepts",
    415: "The request body is not application/json",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict with the cart's current state",
    410: "Gone: the link no longer works",
    422: "The request breaks a rule",
    429: "Too many requests: a rate limit's bucket is empty (Retry-After says when to retry)",
    503: "The cart store is unavailable",
}


def responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI ``responses`` for a route: 200 with its return model, and the problem statuses it can
    answer (every route can also answer 400/422 for a malformed request, 401 for an invalid bearer
    token, 413/415 for a body too large or not JSON, and 503 when the database is down)."""
    ok: dict[int, OpenAPIResponse] = {200: {"description": "The cart as it now is"}}
    return ok | {
        status: {
            "description": STATUS_TEXT[status],
            "content": {PROBLEM_CONTENT_TYPE: {"model": ProblemModel}},
        }
        for status in sorted({*statuses, 400, 401, 413, 415, 422, 503})
    }


# What an Idempotency-Key may be: printable ASCII, no spaces (the local stack's OpenAPI document
# publishes the pattern).
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def problem_response(problem: Problem) -> Response[str]:
    oplog.refused(problem.code)
    return Response(
        status_code=problem.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=json.dumps(problem.body()),
        headers=problem.response_headers(),
    )


# A problem names the fields it refuses, but a field name is the client's own text (an unknown key):
# it is echoed cut short, and only the first few errors are listed, so a problem stays small
# whatever the request held.
_ECHOED_NAME_CHARS = 64
_LISTED_ERRORS = 10


def _field(loc: tuple[Any, ...]) -> str:
    """``("body", "quantity")`` -> ``quantity``; ``("path", "itemId")`` -> ``itemId``."""
    parts = [str(part) for part in loc[1:] if not isinstance(part, int)] or [str(loc[0])]
    name = ".".join(parts)
    return name if len(name) <= _ECHOED_NAME_CHARS else name[: _ECHOED_NAME_CHARS - 1] + "…"


def _validation_problem(exc: RequestValidationError) -> Problem:
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return MalformedJson()
    fields = [
        {"field": _field(tuple(error.get("loc", ()))), "type": error.get("type"), "message": error.get("msg")}
        for error in errors[:_LISTED_ERRORS]
    ]
    names = ", ".join(dict.fromkeys(f["field"] for f in fields))
    more = f" and {len(errors) - _LISTED_ERRORS} more" if len(errors) > _LISTED_ERRORS else ""
    return ValidationFailed(f"Invalid field(s): {names}{more}", errors=fields)


def _guest_cookie(value: str, max_age: int) -> str:
    return str(
        Cookie(
            name=get_settings().session_cookie_name,
            value=value,
            path="/",
            secure=True,
            http_only=True,
            max_age=max_age,
            same_site=SameSite.LAX_MODE,
        )
    )


def _send_session(result: dict[str, Any], session: Session, *, changed: bool) -> None:
    """A new guest token must reach the client, even with an error; an existing one is re-sent
    after a change so the cookie's lifetime slides forward with the cart's. A guest session merged
    into the user's cart is over: its cookie is cleared."""
    if session.merged:
        result.setdefault("cookies", []).append(_guest_cookie("", 0))
    elif session.guest_token and not session.is_user and (session.is_new or changed):
        result.setdefault("headers", {})[HEADER_NAME] = session.guest_token
        result.setdefault("cookies", []).append(
            _guest_cookie(session.guest_token, get_settings().session_cookie_max_age_s)
        )


# A cart version as ETag sends it: ASCII digits only (``str.isdigit`` would take "²" or "٣"). Up to 18
# of them: a product's version (the admin API) is epoch milliseconds; a cart's never passes _MAX_VERSION,
# so a larger one is simply not the cart's version (409 version_conflict), not a malformed header.
_IF_MATCH = re.compile(r'(?:W/)?"?([0-9]{1,18})"?')
_MAX_VERSION = 2**31 - 1


def _if_match(value: str | None) -> int | None:
    """``"3"`` (as sent in ETag), ``W/"3"`` or ``3`` -> 3; ``*`` or absent -> no precondition;
    anything else is 400 ``invalid_precondition``."""
    if value is None or value.strip() == "*":
        return None
    match = _IF_MATCH.fullmatch(value.strip())
    if match is None:
        raise InvalidPrecondition()
    return min(int(match.group(1)), _MAX_VERSION)


def _if_none_match(value: str | None) -> list[int] | None:
    """``"3", W/"4"`` -> [3, 4]; ``*`` -> [] (any version); absent, or no cart version in it -> None
    (an ETag we never sent cannot match: the full read answers)."""
    if value is None:
        return None
    if value.strip() == "*":
        return []
    versions = [_IF_MATCH.fullmatch(tag.strip()) for tag in value.split(",")[:16]]
    return [min(int(match.group(1)), _MAX_VERSION) for match in versions if match] or None


def _guest_address(headers: dict[str, str], source_ip: str | None) -> str | None:
    return address_key(client_address(headers, source_ip))


def _rate_limit_headers(taken: list[dict[str, Any]]) -> dict[str, str]:
    """RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers) for the buckets a
    change took from: q tokens per w seconds; r left, full again in t seconds."""
    return {
        "RateLimit-Policy": ", ".join(f'"{row["policy"]}";q={row["q"]};w={row["w"]}' for row in taken),
        "RateLimit": ", ".join(f'"{row["policy"]}";r={row["r"]};t={row["t"]}' for row in taken),
    }


Guard = Callable[["CartResolver"], Any]


class CartResolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver that knows who is calling, and refuses a request whose body it
    will not read (too large, not JSON) or whose caller a ``guard`` turns away before any route,
    validation or database work."""

    _session: Session | None = None
    _event: dict[str, Any] | None = None

    def __init__(self, *, guard: Guard | None = None) -> None:
        super().__init__(enable_validation=True, json_body_deserializer=read_json)
        self._guard = guard
        # Each route's function name by API Gateway's routeKey ("POST /cart/items" -> "add_item"):
        # the operation the operations log names, known even for a request refused before routing.
        self._operations: dict[str, str] = {}

    def route(self, rule: str, method: str | list[str] | tuple[str], *args: Any, **kwargs: Any) -> Any:
        register = super().route(rule, method, *args, **kwargs)
        route_key = re.sub(r"<(\w+)>", r"{\1}", rule)

        def named(func: Callable[..., Any]) -> Any:
            for each in (method,) if isinstance(method, str) else method:
                self._operations[f"{each.upper()} {route_key}"] = func.__name__
            return register(func)

        return named

    @property
    def request_headers(self) -> dict[str, str]:
        """The request's headers as API Gateway sent them (readable before routing)."""
        return dict((self._event or {}).get("headers") or {})

    @property
    def session(self) -> Session:
        """The caller's session, resolved on first use in this invocation (so a route that never
        asks pays nothing, and an invalid token becomes a problem response like any other)."""
        if self._session is None:
            event = self._event or {}
            headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
            session = resolve(headers, list(event.get("cookies") or []))
            oplog.identify(session.owner, idempotent="idempotency-key" in headers)
            session.expected_version = _if_match(headers.get("if-match"))
            session.if_none_match = _if_none_match(headers.get("if-none-match"))
            if not session.is_user:
                source_ip = event.get("requestContext", {}).get("http", {}).get("sourceIp")
                session.address = functools.partial(_guest_address, headers, source_ip)
            key = headers.get("idempotency-key")
            if key is not None:
                if not IDEMPOTENCY_KEY.fullmatch(key):
                    raise InvalidIdempotencyKey()
                session.idempotency_key = key
                # The body as API Gateway sent it (base64 when it is not text): hashing never decodes.
                http = event.get("requestContext", {}).get("http", {})
                session.request_hash = hashlib.sha256(
                    f"{http.get('method')} {event.get('rawPath')}\n{event.get('body') or ''}".encode(
                        "utf-8", "surrogatepass"
                    )
                ).hexdigest()
            if session.is_new:
                metrics.add_metric(name="GuestSessionsStarted", unit=MetricUnit.Count, value=1)
            self._session = session
        return self._session

    def _refusal(self, event: dict[str, Any]) -> Problem | None:
        """What stops the request before routing: a body over the size limit (413), a body that is
        not JSON (415), then the route's guard (who may call: 401/403 before any parameter is
        validated)."""
        body = event.get("body") or ""
        size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
        if size > MAX_BODY_BYTES:
            return PayloadTooLarge(maxBytes=MAX_BODY_BYTES)
        if body:
            headers = event.get("headers") or {}
            content_type = next((v for k, v in headers.items() if str(k).lower() == "content-type"), None)
            problem = media_type_problem(content_type)
            if problem:
                return problem
            # Powertools reads only a lower-case application/json as JSON: give it the type we checked.
            event["headers"] = {k: v for k, v in headers.items() if str(k).lower() != "content-type"} | {
                "content-type": "application/json"
            }
        if self._guard:
            try:
                self._guard(self)
            except Problem as problem:
                return problem
        return None

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        route = event.get("routeKey")
        logged = oplog.begin(route, self._operations.get(route) if isinstance(route, str) else None)
        result: dict[str, Any] = {"statusCode": 500}
        try:
            result = self._handle(event, context)
            return result
        finally:
            oplog.finish(logged, result["statusCode"])

    def _handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self._session, self._event = None, event
        refusal = self._refusal(event)
        result = _problem_result(refusal) if refusal else self.resolve(event, context)
        get_database().end_request()
        session, self._session, self._event = self._session, None, None
        failed = result["statusCode"] >= 400
        metrics.add_metric(name="CartProblems" if failed else "CartOperations", unit=MetricUnit.Count, value=1)
        if session:
            method = event.get("requestContext", {}).get("http", {}).get("method")
            _send_session(result, session, changed=method != "GET" and not failed)
            if session.cart_version is not None:
                result.setdefault("headers", {})["ETag"] = f'"{session.cart_version}"'
                oplog.version_shown(session.cart_version)
            if session.rate_limits:
                result.setdefault("headers", {}).update(_rate_limit_headers(session.rate_limits))
        if result["statusCode"] == 429:
            metrics.add_metric(name="RateLimited", unit=MetricUnit.Count, value=1)
        return result


def _problem_result(problem: Problem) -> dict[str, Any]:
    """A problem as the HTTP API response a route's problem would become (payload format 2.0)."""
    oplog.refused(problem.code)
    return {
        "statusCode": problem.status,
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE, **problem.response_headers()},
        "body": json.dumps(problem.body()),
        "isBase64Encoded": False,
    }


# The one mapping from what went wrong to the response a client sees.
def _not_modified(_: NotModified) -> Response[str]:
    return Response(status_code=304, body=None)  # no body; ``handle`` adds the ETag


def _problem(exc: Problem) -> Response[str]:
    if exc.status >= 500:
        logger.warning("Request failed", extra={"code": exc.code, "cause": repr(exc.__cause__)})
    return problem_response(exc)


def _not_utf8(_: UnicodeDecodeError) -> Response[str]:
    return problem_response(MalformedJson("The request body is not UTF-8"))


def _not_json(_: RequestUnsupportedContentType) -> Response[str]:
    return problem_response(UnsupportedMediaType())


def _invalid(exc: RequestValidationError) -> Response[str]:
    return problem_response(_validation_problem(exc))


def _not_found(_: NotFoundError) -> Response[str]:
    return problem_response(RouteNotFound())


def _unexpected(exc: Exception) -> Response[str]:
    logger.exception("Unhandled error")
    return problem_response(InternalError())


_ERROR_RESPONSES: list[tuple[type[Exception], Callable[[Any], Response[str]]]] = [
    (NotModified, _not_modified),
    (Problem, _problem),
    (UnicodeDecodeError, _not_utf8),
    (RequestUnsupportedContentType, _not_json),
    (RequestValidationError, _invalid),
    (Exception, _unexpected),
]


def make_app(*, guard: Guard | None = None) -> CartResolver:
    """The resolver of one function; ``guard(app)`` decides who may call before anything else runs
    (it raises a ``Problem`` to turn the caller away)."""
    app = CartResolver(guard=guard)
    for error, respond in _ERROR_RESPONSES:
        app.exception_handler(error)(respond)
    app.not_found(_not_found)
    return app


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def observed(correlation_id_path: str) -> Callable[[Handler], Handler]:
    """Every function's Lambda entry point: the Logger's correlation id from ``correlation_id_path``
    in the event (events themselves are never logged: they carry tokens), and metrics flushed per
    invocation, with the cold-start metric. With ``POWERTOOLS_METRICS_DISABLED`` Powertools skips
    the flush but keeps the values, and prints them once 100 pile up: they are dropped instead.
    Decorating the handler ends the function's init (``init_done``)."""

    def decorate(handle: Handler) -> Handler:
        logged = logger.inject_lambda_context(correlation_id_path=correlation_id_path, log_event=False)(
            metrics.log_metrics(capture_cold_start_metric=True)(handle)
        )

        @functools.wraps(handle)
        def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                result: dict[str, Any] = logged(event, context)
                return result
            finally:
                if is_metrics_disabled():
                    metrics.clear_metrics()

        init_done()
        return lambda_handler

    return decorate


def handler_for(app: CartResolver) -> Handler:
    """The Lambda entry point for ``app``: ``observed``, with the correlation id from the HTTP API
    request id and tracing (when enabled) innermost."""
    handle = app.handle
    if _sdk_tracing_enabled():
        from aws_lambda_powertools import Tracer

        handle = Tracer(service="cart-api", auto_patch=False).capture_lambda_handler(handle, capture_response=False)
    return observed(correlation_paths.API_GATEWAY_HTTP)(handle)
