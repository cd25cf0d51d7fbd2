"""Who may call the admin routes: a signed-in Cognito user in the ``admin`` group.

Group membership comes from the ``cognito:groups`` claim, which Cognito puts in both access and ID
tokens, so it is as trustworthy as the token's signature (checked when the session is resolved).
"""

from __future__ import annotations

from cart_common.api import CartResolver
from cart_common.errors import AuthenticationRequired, Forbidden
from cart_common.session import Session

ADMIN_GROUP = "admin"


def require_admin(app: CartResolver) -> Session:
    """The caller's session when they are an administrator: an admin function's guard
    (``make_app(guard=require_admin)``), so identity and role are settled before any parameter is
    validated. Without an Authorization header the answer is 401 before any session is resolved,
    so an admin route never starts a guest session (nor sets its cookie); an invalid token is 401
    ``invalid_token`` from the session itself; a valid token without the group is 403."""
    headers = app.request_headers
    if not any(name.lower() == "authorization" for name in headers):
        raise AuthenticationRequired("Sign in with an administrator's Cognito token")
    session = app.session
    groups = session.claims.get("cognito:groups") or []
    if isinstance(groups, str):  # a single group, as some token issuers send it
        groups = [groups]
    if not session.is_user or ADMIN_GROUP not in groups:
        raise Forbidden(f"Only members of the Cognito group {ADMIN_GROUP!r} may do this")
    return session
