"""Amazon Cognito, locally: moto's threaded server with a user pool and an app client, and the two
calls a storefront makes through Amplify (sign up, sign in). Tokens are signed with moto's key and
name the real Cognito issuer format; the JWKS is served by the moto server, which is why the API
takes the issuer and the JWKS URL as separate settings.

The app client is template.yaml's ``UserPoolClient`` (its auth flows and token lifetimes), and the
server is ``local.cognito_server``: moto with those lifetimes honoured, which moto alone ignores
(every token would last an hour). ``token_lifetime`` shortens them for a test, to seconds, which
Cognito itself never allows (5 minutes at least)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from local import template

REGION = "us-east-1"
# What the local app client takes from template.yaml's UserPoolClient (the rest names AWS resources).
CLIENT_SETTINGS = (
    "ExplicitAuthFlows",
    "AccessTokenValidity",
    "IdTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
    "EnableTokenRevocation",
    "PreventUserExistenceErrors",
)


def template_client_settings() -> dict[str, Any]:
    """template.yaml's app client settings that the local pool's client is created with."""
    properties: dict[str, Any] = template.load()["Resources"]["UserPoolClient"]["Properties"]
    return {name: properties[name] for name in CLIENT_SETTINGS if name in properties}


@dataclass
class LocalCognito:
    endpoint: str
    user_pool_id: str
    client_id: str
    server: Any

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint}/{self.user_pool_id}/.well-known/jwks.json"

    def settings(self) -> dict[str, str]:
        """The API's environment for verifying this pool's tokens."""
        return {
            "COGNITO_ISSUER": self.issuer,
            "COGNITO_JWKS_URL": self.jwks_url,
            "COGNITO_CLIENT_IDS": self.client_id,
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "cognito-idp",
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto ignores them
        )

    def sign_up(self, email: str, password: str) -> str:
        """A confirmed user (what sign-up plus the emailed code does in AWS); returns its sub."""
        client = self.client()
        user = client.admin_create_user(
            UserPoolId=self.user_pool_id,
            Username=email,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        )["User"]
        client.admin_set_user_password(UserPoolId=self.user_pool_id, Username=email, Password=password, Permanent=True)
        sub: str = next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")
        return sub

    def add_to_group(self, email: str, group: str) -> None:
        """Put a user in a group (created when missing): Cognito names it in the tokens' ``cognito:groups``."""
        client = self.client()
        with contextlib.suppress(client.exceptions.GroupExistsException):
            client.create_group(UserPoolId=self.user_pool_id, GroupName=group)
        client.admin_add_user_to_group(UserPoolId=self.user_pool_id, Username=email, GroupName=group)

    def sign_in(self, email: str, password: str) -> dict[str, Any]:
        """Tokens for a user: ``{IdToken, AccessToken, RefreshToken, ExpiresIn, TokenType}``."""
        tokens: dict[str, Any] = self.client().initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )["AuthenticationResult"]
        return tokens

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """New access and ID tokens for a refresh token (``REFRESH_TOKEN_AUTH``, as the storefront
        refreshes); ``NotAuthorizedException`` once it is revoked."""
        tokens: dict[str, Any] = self.client().initiate_auth(
            ClientId=self.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )["AuthenticationResult"]
        return tokens

    def sign_out_everywhere(self, email: str) -> None:
        """Revoke every refresh token of a user (``AdminUserGlobalSignOut``): their access tokens
        stay valid until they expire, as in Cognito; no refresh gives new ones."""
        self.client().admin_user_global_sign_out(UserPoolId=self.user_pool_id, Username=email)

    @contextlib.contextmanager
    def token_lifetime(self, seconds: int) -> Iterator[None]:
        """Access and ID tokens issued meanwhile (sign-ins and refreshes) last ``seconds``; the
        template's lifetimes are back afterwards. Local only: Cognito's least is 5 minutes."""
        client = self.client()
        settings = template_client_settings()
        units = {**settings.get("TokenValidityUnits", {}), "AccessToken": "seconds", "IdToken": "seconds"}
        short = {**settings, "AccessTokenValidity": seconds, "IdTokenValidity": seconds, "TokenValidityUnits": units}
        client.update_user_pool_client(UserPoolId=self.user_pool_id, ClientId=self.client_id, **short)
        try:
            yield
        finally:
            client.update_user_pool_client(UserPoolId=self.user_pool_id, ClientId=self.client_id, **settings)

    def user(self, email: str) -> dict[str, str]:
        attributes = self.client().admin_get_user(UserPoolId=self.user_pool_id, Username=email)["UserAttributes"]
        return {a["Name"]: a["Value"] for a in attributes}

    def stop(self) -> None:
        self.server.stop()


class _MotoServer:
    """moto's server in a process of its own: its state must not be shared with (or reset by) the
    in-process ``mock_aws`` that tests use for Secrets Manager and SSM. It runs this checkout's
    ``local.cognito_server`` (PYTHONPATH names this checkout first)."""

    def __init__(self, port: int) -> None:
        if port == 0:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        self.port = port
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            [sys.executable, "-m", "local.cognito_server", "-H", "127.0.0.1", "-p", str(port)],
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(template.ROOT), os.environ.get("PYTHONPATH", "")])},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto's server did not start on port {port}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start(port: int = 0) -> LocalCognito:
    server = _MotoServer(port)
    cognito = LocalCognito(endpoint=f"http://127.0.0.1:{server.port}", user_pool_id="", client_id="", server=server)
    client = cognito.client()
    cognito.user_pool_id = client.create_user_pool(
        PoolName="cart-local", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    cognito.client_id = client.create_user_pool_client(
        UserPoolId=cognito.user_pool_id, ClientName="storefront", GenerateSecret=False, **template_client_settings()
    )["UserPoolClient"]["ClientId"]
    return cognito
