"""Which kind of route each route of ``template.yaml`` is, decided once, from the template itself
(the route's API Gateway authorizer, then its path), for the e2e sweeps over every route
(test_security.py, test_fuzz.py): each kind holds a different property, so a sweep must know it.

- ``cart``: ``/cart...``, ``/lists...``, ``/shares...``; a guest session or a Cognito token names the
  caller's own cart, lists and share links.
- ``admin``: ``/admin/...``; the Cognito group ``admin`` only (guests 401, users 403), checked before
  anything else (``make_app(guard=require_admin)``).
- ``service``: ``Auth: {Authorizer: AWS_IAM}``; the order service, SigV4-signed. In AWS, API Gateway
  refuses an unsigned request before the function runs (the template's routes carry ``AWS_IAM``:
  tests/integration/test_template_events.py
  ``test_the_completion_routes_are_signed_with_iam_and_the_cart_routes_are_not``); the function
  itself reads no Bearer token and no guest session, and locally nothing signs or checks requests.
- ``public``: ``GET /catalog/...`` and ``GET /shared/{token}`` (what a share link shows); no auth,
  cacheable, never a session.

A route that fits none of them is not silently left out of a sweep: ``route_class`` fails, naming it.
"""

from __future__ import annotations

from local import template

CART, ADMIN, SERVICE, PUBLIC = "cart", "admin", "service", "public"
KINDS = (CART, ADMIN, SERVICE, PUBLIC)
ROUTES = sorted((r.method, r.path) for r in template.routes())
_AUTHORIZERS = {(r.method, r.path): r.authorizer for r in template.routes()}


def _classify(method: str, path: str, authorizer: str | None) -> str | None:
    if authorizer == "AWS_IAM":
        return SERVICE
    if authorizer is not None:
        return None  # another API Gateway authorizer: a kind of route these sweeps do not know
    if any(path == root or path.startswith(f"{root}/") for root in ("/cart", "/lists", "/shares")):
        return CART
    if path.startswith("/admin/"):
        return ADMIN
    if path.startswith(("/catalog/", "/shared/")) and method == "GET":
        return PUBLIC
    return None


def route_class(method: str, path: str) -> str:
    """The kind of the template's route ``method path``; an AssertionError for a route of no known
    kind, telling the next developer what to do."""
    assert (method, path) in _AUTHORIZERS, f"{method} {path} is not a route of template.yaml"
    kind = _classify(method, path, _AUTHORIZERS[(method, path)])
    assert kind is not None, (
        f"{method} {path} (authorizer {_AUTHORIZERS[(method, path)]!r}) is a route of no known kind: classify it "
        "in tests/e2e/route_classes.py and give it its property in every sweep of test_security.py and test_fuzz.py"
    )
    return kind


def routes_of(kind: str) -> list[tuple[str, str]]:
    """The template's routes of one kind (every route must have a kind: see route_class)."""
    assert kind in KINDS, kind
    return [(m, p) for m, p in ROUTES if _classify(m, p, _AUTHORIZERS[(m, p)]) == kind]
