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

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query as Query  # for functions' query parameters
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from cart_common import init_done
from cart_common.config import get_settings
from cart_common.errors import (
    PROBLEM_CONTENT_TYPE,
    InternalError,
    InvalidIdempotencyKey,
    InvalidPrecondition,
    MalformedJson,
    Problem,
    RouteNotFound,
    ValidationFailed,
)
from cart_common.models import Problem as ProblemModel
from cart_common.session import HEADER_NAME, Session, resolve

logger = Logger(service="cart-api")
metrics = Metrics(namespace="CartApi", service="cart-api")


def _sdk_tracing_enabled() -> bool:
    """Powertools' Tracer loads the X-Ray SDK (and botocore with it): about 200 ms of every cold
    start. Lambda's active tracing records each invocation without it, so the SDK is opt-in
    (POWERTOOLS_TRACE_DISABLED=false, the template's XRaySdkTracing parameter)."""
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() in ("0", "false", "no")


_STATUS_TEXT = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict with the cart's current state",
    422: "The request breaks a rule",
    503: "The cart store is unavailable",
}


def responses(*statuses: int) -> dict[int, dict[str, Any]]:
    """OpenAPI ``responses`` for a route: 200 with its return model, and the problem statuses it can
    answer (every route can also answer 400/422 for a malformed request, 401 for an invalid bearer
    token and 503 when the database is down)."""
    return {200: {"description": "The cart as it now is"}} | {
        status: {
            "description": _STATUS_TEXT[status],
            "content": {PROBLEM_CONTENT_TYPE: {"model": ProblemModel}},
        }
        for status in sorted({*statuses, 400, 401, 422, 503})
    }


# What every function's OpenAPI leaves out because it lives outside a route's signature: who may
# call (a Cognito bearer token, or a guest session by header or cookie; anonymous callers get a new
# guest session) and the request headers the resolver reads for every change. ``document_contract``
# adds them to a merged document (the local stack serves it at /openapi.json).
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces
ADMIN_SECURITY = [{"cognito": []}]  # and the `admin` group, checked by the route
CHANGE_HEADERS = [
    {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
     "description": 'The cart version the client last saw, as its ETag ("3", W/"3", or "0": only if there is no '
                    "cart yet); a stale one is 409 version_conflict"},
    {"name": "Idempotency-Key", "in": "header", "required": False,
     "schema": {"type": "string", "pattern": f"^{_IDEMPOTENCY_KEY.pattern}$"},
     "description": "Retrying with the same key (within 24 h) replays the first response instead of changing "
                    "the cart again; the same key with another body is 422 idempotency_key_reused"},
]  # fmt: skip


def document_contract(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the security schemes, who may call each operation, and the change headers."""
    document.setdefault("components", {})["securitySchemes"] = {
        "cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "A Cognito access or ID token of one of the allowed app clients"},
        "guestSessionHeader": {"type": "apiKey", "in": "header", "name": HEADER_NAME,
                               "description": "The guest session token a previous response handed out"},
        "guestSessionCookie": {"type": "apiKey", "in": "cookie", "name": get_settings().session_cookie_name,
                               "description": "The same token, as the cookie a previous response set"},
    }  # fmt: skip
    document["security"] = [{}, {"cognito": []}, {"guestSessionHeader": []}, {"guestSessionCookie": []}]
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if path.startswith("/admin/"):
                operation["security"] = ADMIN_SECURITY
            if method != "get":
                operation["parameters"] = [*operation.get("parameters", []), *CHANGE_HEADERS]
    return document


def problem_response(problem: Problem) -> Response:
    return Response(
        status_code=problem.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=json.dumps(problem.body()),
        headers=dict(problem.headers),
    )


def _field(loc: tuple[Any, ...]) -> str:
    """``("body", "quantity")`` -> ``quantity``; ``("path", "itemId")`` -> ``itemId``."""
    parts = [str(part) for part in loc[1:] if not isinstance(part, int)] or [str(loc[0])]
    return ".".join(parts)


def _validation_problem(exc: RequestValidationError) -> Problem:
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return MalformedJson()
    fields = [
        {"field": _field(tuple(error.get("loc", ()))), "type": error.get("type"), "message": error.get("msg")}
        for error in errors
    ]
    names = ", ".join(dict.fromkeys(f["field"] for f in fields))
    return ValidationFailed(f"Invalid field(s): {names}", errors=fields)


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


def _if_match(value: str | None) -> int | None:
    """``"3"`` (as sent in ETag), ``W/"3"`` or ``3`` -> 3; ``*`` or absent -> no precondition."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 9:
        raise InvalidPrecondition()
    return int(text)


class CartResolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver that knows who is calling."""

    _session: Session | None = None

    @property
    def session(self) -> Session:
        """The caller's session, resolved on first use in this invocation (so a route that never
        asks pays nothing, and an invalid token becomes a problem response like any other)."""
        if self._session is None:
            event = self.current_event
            headers = {name.lower(): value for name, value in (event.headers or {}).items()}
            session = resolve(headers, list(event.cookies or []))
            session.expected_version = _if_match(headers.get("if-match"))
            key = headers.get("idempotency-key")
            if key is not None:
                if not _IDEMPOTENCY_KEY.fullmatch(key):
                    raise InvalidIdempotencyKey()
                session.idempotency_key = key
                # The body as API Gateway sent it (base64 when it is not text): hashing never decodes.
                session.request_hash = hashlib.sha256(
                    f"{event.http_method} {event.path}\n{event.body or ''}".encode()
                ).hexdigest()
            if session.is_new:
                metrics.add_metric(name="GuestSessionsStarted", unit=MetricUnit.Count, value=1)
            self._session = session
        return self._session

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self._session = None
        result = self.resolve(event, context)
        session, self._session = self._session, None
        failed = result["statusCode"] >= 400
        metrics.add_metric(name="CartProblems" if failed else "CartOperations", unit=MetricUnit.Count, value=1)
        if session:
            method = event.get("requestContext", {}).get("http", {}).get("method")
            _send_session(result, session, changed=method != "GET" and not failed)
            if session.cart_version is not None:
                result.setdefault("headers", {})["ETag"] = f'"{session.cart_version}"'
        return result


def make_app() -> CartResolver:
    app = CartResolver(enable_validation=True)

    @app.exception_handler(Problem)
    def _problem(exc: Problem) -> Response:
        if exc.status >= 500:
            logger.warning("Request failed", extra={"code": exc.code, "cause": repr(exc.__cause__)})
        return problem_response(exc)

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(_: UnicodeDecodeError) -> Response:
        return problem_response(MalformedJson("The request body is not UTF-8"))

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        return problem_response(_validation_problem(exc))

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        return problem_response(RouteNotFound())

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("Unhandled error")
        return problem_response(InternalError())

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
                return logged(event, context)
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
