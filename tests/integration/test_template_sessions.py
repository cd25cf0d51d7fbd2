"""Issue 22's lasting sessions in template.yaml, read as CloudFormation gets it (the SAM-translated
template of tests/integration/test_template.py): the storefront's app client allows the refresh
flow and names its token lifetimes, which the storefront's refresh-token cookie and the local
emulator follow. Each test names the Cognito documentation it relies on."""

from __future__ import annotations

import re
from typing import Any

import pytest

from local import cognito as local_cognito
from tests.integration.test_template import ROOT, TEMPLATE, _translate

UNIT_S = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
COOKIES_TS = ROOT / "storefront" / "src" / "lib" / "auth" / "cookies.ts"


@pytest.fixture(scope="module")
def client() -> dict[str, Any]:
    properties: dict[str, Any] = _translate(TEMPLATE)["Resources"]["UserPoolClient"]["Properties"]
    return properties


def _lifetime_s(client: dict[str, Any], token: str) -> int:
    return int(client[f"{token}Validity"]) * UNIT_S[client["TokenValidityUnits"][token]]


def test_the_app_client_allows_the_refresh_flow_and_revocation(client: dict[str, Any]) -> None:
    """The storefront refreshes with InitiateAuth ``REFRESH_TOKEN_AUTH``, which the app client must
    allow (Amazon Cognito API Reference, CreateUserPoolClient ``ExplicitAuthFlows``:
    ALLOW_REFRESH_TOKEN_AUTH; Cognito Developer Guide, "Refresh tokens"), and signs out with
    RevokeToken, which needs token revocation on (Developer Guide, "Revoking tokens":
    ``EnableTokenRevocation``). No client secret: the flows' SECRET_HASH would be one more secret."""
    assert "ALLOW_REFRESH_TOKEN_AUTH" in client["ExplicitAuthFlows"]
    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]
    assert client["EnableTokenRevocation"] is True
    assert client["GenerateSecret"] is False


def test_token_lifetimes_are_named_within_cognitos_bounds(client: dict[str, Any]) -> None:
    """Written out rather than left to defaults, in the units Cognito reads them in (API Reference,
    CreateUserPoolClient: ``TokenValidityUnits``, whose default unit is hours for access and ID
    tokens and days for refresh tokens; access and ID tokens 5 minutes to 1 day, refresh tokens
    60 minutes to 10 years, and the refresh token must outlive the others)."""
    access, identity, refresh = (_lifetime_s(client, t) for t in ("AccessToken", "IdToken", "RefreshToken"))
    assert access == identity == 3600
    assert 5 * 60 <= access <= 86400
    assert 3600 <= refresh <= 3650 * 86400 and refresh > access
    assert refresh == 30 * 86400


def test_the_storefronts_refresh_cookie_lives_as_long_as_the_refresh_token(client: dict[str, Any]) -> None:
    """The storefront cannot read the app client's settings (DescribeUserPoolClient needs AWS
    credentials), so its default refresh-token cookie lifetime is written down; it must be the
    template's RefreshTokenValidity, or the cookie outlives a dead token (or drops a live one)."""
    match = re.search(r"DEFAULT_REFRESH_TOKEN_DAYS = (\d+);", COOKIES_TS.read_text())
    assert match, f"no DEFAULT_REFRESH_TOKEN_DAYS in {COOKIES_TS}"
    assert int(match.group(1)) * 86400 == _lifetime_s(client, "RefreshToken")


def test_the_local_emulator_creates_the_templates_app_client(client: dict[str, Any]) -> None:
    """local/cognito.py creates its app client from the template's settings: auth flows and lifetimes."""
    settings = local_cognito.template_client_settings()
    for name in ("ExplicitAuthFlows", "AccessTokenValidity", "IdTokenValidity", "RefreshTokenValidity"):
        assert settings[name] == client[name], name
    assert settings["TokenValidityUnits"] == client["TokenValidityUnits"]
