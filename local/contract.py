"""The parts of the API's contract that live outside the routes' signatures, added to the OpenAPI
document the local stack merges from every function (served at /openapi.json, the source of the
storefront's generated types). Local-only: nothing here ships in the Lambda layer."""

from __future__ import annotations

from typing import Any

from cart_common.api import IDEMPOTENCY_KEY, STATUS_TEXT
from cart_common.config import get_settings
from cart_common.errors import PROBLEM_CONTENT_TYPE
from cart_common.session import HEADER_NAME

# What every function's OpenAPI leaves out because it lives outside a route's signature: who may
# call (a Cognito bearer token, or a guest session by header or cookie; anonymous callers get a new
# guest session) and the request headers the resolver reads for every change. ``document_contract``
# adds them to the merged document the local stack serves at /openapi.json.
ADMIN_SECURITY: list[dict[str, list[str]]] = [{"cognito": []}]  # and the `admin` group, checked by the route
CHANGE_HEADERS = [
    {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
     "description": 'The cart version the client last saw, as its ETag ("3", W/"3", or "0": only if there is no '
                    "cart yet); a stale one is 409 version_conflict"},
    {"name": "Idempotency-Key", "in": "header", "required": False,
     "schema": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY.pattern}$"},
     "description": "Retrying with the same key (within 24 h) replays the first response instead of changing "
                    "the cart again; the same key with another body is 422 idempotency_key_reused"},
]  # fmt: skip


_RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": {
        "description": 'Each bucket the change took from: "changes";q=60;w=60 (q per w seconds)',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What each bucket has left: "changes";r=59;t=1 (r left; full again in t seconds)',
        "schema": {"type": "string"},
    },
}
_RATE_LIMITED = {
    "description": STATUS_TEXT[429],
    "headers": {
        "Retry-After": {"description": "Seconds until the bucket holds a token again", "schema": {"type": "integer"}},
        **_RATE_LIMIT_HEADERS,
    },
    "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag(s) of the cart the client holds; when one is current the answer is 304 with no body",
}
_NOT_MODIFIED = {"description": "The cart is as the client holds it (If-None-Match): no body, the ETag again",
                 "headers": {"ETag": {"schema": {"type": "string"}}}}  # fmt: skip


_IF_NONE_MATCH_CATALOG = {**_IF_NONE_MATCH, "description": "The ETag of this answer the client holds: 304 when current"}
_NOT_CHANGED = {"description": "The catalog is as the client holds it (If-None-Match): no body, the ETag again",
                "headers": {"ETag": {"schema": {"type": "string"}}}}  # fmt: skip


def document_contract(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the security schemes, who may call each operation, the change headers, the
    rate limits' 429 and headers on every change, and the conditional read (304) of ``GET /cart``."""
    document.setdefault("components", {})["securitySchemes"] = {
        "cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "A Cognito access or ID token of one of the allowed app clients"},
        "guestSessionHeader": {"type": "apiKey", "in": "header", "name": HEADER_NAME,
                               "description": "The guest session token a previous response handed out"},
        "guestSessionCookie": {"type": "apiKey", "in": "cookie", "name": get_settings().session_cookie_name,
                               "description": "The same token, as the cookie a previous response set"},
        # API Gateway's IAM authorizer (AWS_IAM): a Signature Version 4 Authorization header, as
        # API Gateway's own OpenAPI extension names it.
        "sigv4": {"type": "apiKey", "in": "header", "name": "Authorization", "x-amazon-apigateway-authtype": "awsSigv4",
                  "description": "An AWS SigV4 signature of a principal allowed execute-api:Invoke (server to server)"},
    }  # fmt: skip
    document["security"] = [{}, {"cognito": []}, {"guestSessionHeader": []}, {"guestSessionCookie": []}]
    for path, operations in document.get("paths", {}).items():
        # The order service's routes (IAM-signed, idempotent per order, not rate limited) and the
        # public catalog and shared carts (no credentials, cacheable) are neither cart nor admin routes.
        service, public = path.startswith("/checkouts/"), path.startswith(("/catalog/", "/shared/"))
        for method, operation in operations.items():
            if path.startswith("/admin/"):
                operation["security"] = ADMIN_SECURITY
            elif service:
                operation["security"] = [{"sigv4": []}]
            elif public:
                operation["security"] = []
            if method != "get" and not service:
                operation["parameters"] = [*operation.get("parameters", []), *CHANGE_HEADERS]
            responses_ = operation.setdefault("responses", {})
            if method != "get" and not path.startswith("/admin/") and not service:
                responses_["429"] = _RATE_LIMITED
                if "200" in responses_:
                    responses_["200"].setdefault("headers", {}).update(_RATE_LIMIT_HEADERS)
            if (path, method) == ("/cart", "get"):
                operation["parameters"] = [*operation.get("parameters", []), _IF_NONE_MATCH]
                responses_["304"] = _NOT_MODIFIED
            if public and method == "get":
                operation["parameters"] = [*operation.get("parameters", []), _IF_NONE_MATCH_CATALOG]
                responses_["304"] = _NOT_CHANGED
    return document
