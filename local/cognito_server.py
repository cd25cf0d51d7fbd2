"""moto's server as the local Cognito runs it (``python -m local.cognito_server -H … -p …``), with one
change: access and ID tokens last what the app client says, as in Cognito.

moto 5 signs every access and ID token for one hour (``CognitoIdpUserPool.create_jwt``'s default
``expires_in``) whatever the app client's ``AccessTokenValidity``, ``IdTokenValidity`` and
``TokenValidityUnits``. Here those settings are honoured, in every unit Cognito names (seconds,
minutes, hours, days) and with Cognito's default unit (hours) and lifetime (one hour) when unset.

Unlike Cognito, any lifetime is accepted: Cognito refuses an access or ID token validity under
5 minutes (CreateUserPoolClient / UpdateUserPoolClient in the Amazon Cognito API Reference), while
this emulator lets a test ask for a few seconds (``LocalCognito.token_lifetime``), so tests can
watch a session outlive its access token without waiting five minutes. moto does not expire refresh
tokens at all (``RefreshTokenValidity`` is stored, never checked); it revokes them on
``AdminUserGlobalSignOut`` / ``GlobalSignOut``. And ``RevokeToken`` (what the storefront's sign-out
calls), which moto does not implement (a 500), revokes the one refresh token here, as in Cognito.
"""

from __future__ import annotations

import sys
from typing import Any

from moto import server
from moto.cognitoidp.models import CognitoIdpUserPool
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import ActionResult, EmptyResult

# Cognito's units for TokenValidityUnits, in seconds; hours is its default for access and ID tokens.
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
DEFAULT_UNIT = "hours"
DEFAULT_VALIDITY = 1  # hour


# A token's ``token_use`` claim → its name in the app client's settings.
KINDS = {"access": "AccessToken", "id": "IdToken"}


def token_lifetime_s(client_config: dict[str, Any], kind: str) -> int:
    """How long a token of ``kind`` (AccessToken, IdToken) of an app client with ``client_config``
    (the CreateUserPoolClient fields) lives, in seconds."""
    validity = client_config.get(f"{kind}Validity") or DEFAULT_VALIDITY
    unit = (client_config.get("TokenValidityUnits") or {}).get(kind) or DEFAULT_UNIT
    return int(validity) * UNIT_SECONDS[unit]


_moto_create_jwt = CognitoIdpUserPool.create_jwt


def _create_jwt(
    self: CognitoIdpUserPool,
    client_id: str,
    username: str,
    token_use: str,
    expires_in: int = 60 * 60,
    extra_data: dict[str, Any] | None = None,
) -> tuple[str, int]:
    client = self.clients.get(client_id)
    if client is not None and token_use in KINDS:
        expires_in = token_lifetime_s(client.extended_config, KINDS[token_use])
    return _moto_create_jwt(self, client_id, username, token_use, expires_in, extra_data)


def _revoke_token(self: CognitoIdpResponse) -> ActionResult:
    """Cognito's RevokeToken: the refresh token (issued to this app client) no longer refreshes.
    Cognito answers an unknown token with success too."""
    token, client_id = self._get_param("Token"), self._get_param("ClientId")
    for pool in self.backend.user_pools.values():
        issued = pool.refresh_tokens.get(token)
        if issued is not None and issued[0] == client_id:
            pool.refresh_tokens[token] = None
    return EmptyResult()


def install() -> None:
    """Honour the app client's token lifetimes, and answer RevokeToken, in this process's moto."""
    CognitoIdpUserPool.create_jwt = _create_jwt  # type: ignore[method-assign]
    CognitoIdpResponse.revoke_token = _revoke_token  # type: ignore[attr-defined]


if __name__ == "__main__":
    install()
    server.main(sys.argv[1:])
