"""The local Cognito (local/cognito.py, local/cognito_server.py) as the storefront's sessions need it:
tokens last what the app client says (moto alone signs every token for an hour), a test can make
them last seconds (Cognito's least is 5 minutes), ``REFRESH_TOKEN_AUTH`` works through the same
endpoint the storefront calls, revocation stops it; and the API refuses a token once it has expired
(past the layer's leeway)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError

from cart_common.session import TOKEN_LEEWAY_S
from local.cognito import LocalCognito
from tests.conftest import MUG, Shopper, User
from tests.integration.test_cart_api import assert_problem


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def wait_for_clock(epoch_s: float) -> None:
    """Until the wall clock reads ``epoch_s``: what a token's expiry is measured against (a wait for
    a known instant, not a guess at how long something takes)."""
    time.sleep(max(0.0, epoch_s - time.time()))


def refused(cognito: LocalCognito, refresh_token: str) -> str:
    with pytest.raises(ClientError) as raised:
        cognito.refresh(refresh_token)
    return str(raised.value.response["Error"]["Code"])


def test_the_local_app_client_issues_tokens_for_the_templates_hour(cognito: LocalCognito, user: User) -> None:
    described = cognito.client().describe_user_pool_client(UserPoolId=cognito.user_pool_id, ClientId=cognito.client_id)
    assert "ALLOW_REFRESH_TOKEN_AUTH" in described["UserPoolClient"]["ExplicitAuthFlows"]
    assert user.tokens["ExpiresIn"] == 3600
    for token in (user.access_token, user.id_token):
        assert claims(token)["exp"] - claims(token)["iat"] == 3600


def test_a_short_lived_token_is_accepted_until_it_expires_and_then_refused(cognito: LocalCognito, user: User) -> None:
    with cognito.token_lifetime(2):
        tokens = cognito.sign_in(user.email, user.password)
    access = claims(tokens["AccessToken"])
    assert tokens["ExpiresIn"] == 2 and access["exp"] - access["iat"] == 2
    assert claims(tokens["IdToken"])["exp"] - claims(tokens["IdToken"])["iat"] == 2
    assert Shopper(bearer=tokens["AccessToken"]).add(MUG, 1).status == 200

    wait_for_clock(access["exp"] + TOKEN_LEEWAY_S + 1)
    problem = assert_problem(Shopper(bearer=tokens["AccessToken"]).get(), 401, "invalid_token")
    assert problem["detail"] == "The token has expired"
    # the template's hour is back for every token issued after the test's block
    assert cognito.sign_in(user.email, user.password)["ExpiresIn"] == 3600


def test_refresh_through_the_local_endpoint_until_the_refresh_token_is_revoked(
    cognito: LocalCognito, user: User
) -> None:
    """What the storefront does (InitiateAuth REFRESH_TOKEN_AUTH at COGNITO_ENDPOINT): new access and
    ID tokens for the same user, with the client's lifetime, and no new refresh token (Cognito
    rotates none by default); the same refresh token works again; a global sign-out and a
    RevokeToken each stop it (NotAuthorizedException), as in Cognito."""
    with cognito.token_lifetime(3):
        tokens = cognito.sign_in(user.email, user.password)
        first, second = cognito.refresh(tokens["RefreshToken"]), cognito.refresh(tokens["RefreshToken"])
    assert "RefreshToken" not in first and first["ExpiresIn"] == 3
    assert claims(first["AccessToken"])["sub"] == claims(second["IdToken"])["sub"] == user.sub
    assert claims(first["AccessToken"])["exp"] - claims(first["AccessToken"])["iat"] == 3
    assert Shopper(bearer=second["AccessToken"]).get().status == 200

    cognito.sign_out_everywhere(user.email)
    assert refused(cognito, tokens["RefreshToken"]) == "NotAuthorizedException"

    again = cognito.sign_in(user.email, user.password)
    assert cognito.refresh(again["RefreshToken"])["ExpiresIn"] == 3600
    cognito.client().revoke_token(Token=again["RefreshToken"], ClientId=cognito.client_id)
    assert refused(cognito, again["RefreshToken"]) == "NotAuthorizedException"
    assert refused(cognito, "not-a-refresh-token") == "NotAuthorizedException"
