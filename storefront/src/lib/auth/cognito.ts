/**
 * Cognito's own API as the storefront's server calls it (the user pool's public app client,
 * configured by env: COGNITO_REGION, COGNITO_CLIENT_ID, and COGNITO_ENDPOINT locally, where moto's
 * Cognito runs; unset in production). Used by the auth actions and by the refresh below, which the
 * proxy (page navigations) and the server actions (before calling the API) share.
 */
import { createHash } from "node:crypto";
import {
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  RevokeTokenCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import type { SessionTokens } from "./cookies";

let shared: { client: CognitoIdentityProviderClient; clientId: string } | null = null;

export function cognito(): { client: CognitoIdentityProviderClient; clientId: string } {
  if (shared) return shared;
  const clientId = process.env.COGNITO_CLIENT_ID;
  if (!clientId) throw new Error("COGNITO_CLIENT_ID is not set: sign-in is not configured");
  const endpoint = process.env.COGNITO_ENDPOINT || undefined;
  const client = new CognitoIdentityProviderClient({
    region: process.env.COGNITO_REGION ?? "us-east-1",
    endpoint,
    // The public app-client calls are unsigned in Cognito; a local emulator still wants some credentials.
    ...(endpoint ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
  });
  shared = { client, clientId };
  return shared;
}

export type RefreshOutcome =
  | ({ kind: "refreshed" } & SessionTokens)
  /** The refresh token is refused (revoked, expired, user disabled or gone): sign in again. */
  | { kind: "ended" }
  /** Cognito could not answer (network, throttling, its own fault): the session may still be good. */
  | { kind: "unavailable" };

/** Cognito's answers that mean the refresh token will never work again. */
const ENDED = new Set(["NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException", "PasswordResetRequiredException"]);

/** Recent refreshes by a hash of their refresh token (never the token itself as a key), so parallel
 * requests of one browser (a navigation, its prefetches, another tab) share one InitiateAuth, and a
 * request that left before the new cookies arrived gets the same tokens a moment later. Cognito
 * does not rotate refresh tokens by default, so two refreshes from different server instances are
 * both valid and the later cookie simply wins. With rotation on, each refresh also answers a new
 * refresh token (written to the cookie) and the old one keeps working only for the client's grace
 * period: a request carrying the old one after that is refused and the shopper signs in again. */
const recent = new Map<string, Promise<RefreshOutcome>>();
const REUSE_MS = 5_000;

export function refreshSession(refreshToken: string): Promise<RefreshOutcome> {
  const key = createHash("sha256").update(refreshToken).digest("base64url");
  const known = recent.get(key);
  if (known) return known;
  const outcome = initiateRefresh(refreshToken);
  recent.set(key, outcome);
  void outcome.finally(() => setTimeout(() => recent.delete(key), REUSE_MS).unref?.());
  return outcome;
}

async function initiateRefresh(refreshToken: string): Promise<RefreshOutcome> {
  try {
    const { client, clientId } = cognito();
    const answer = await client.send(
      new InitiateAuthCommand({ ClientId: clientId, AuthFlow: "REFRESH_TOKEN_AUTH", AuthParameters: { REFRESH_TOKEN: refreshToken } }),
    );
    const tokens = answer.AuthenticationResult;
    if (!tokens?.AccessToken) return { kind: "ended" };
    return {
      kind: "refreshed",
      accessToken: tokens.AccessToken,
      idToken: tokens.IdToken,
      refreshToken: tokens.RefreshToken, // only when the app client rotates refresh tokens
      expiresIn: tokens.ExpiresIn ?? 3600,
    };
  } catch (error) {
    // Never logged with the error's message or request: either may carry the token.
    return ENDED.has((error as { name?: string })?.name ?? "") ? { kind: "ended" } : { kind: "unavailable" };
  }
}

/** Sign-out: the refresh token no longer refreshes (Cognito's RevokeToken, the app client has
 * EnableTokenRevocation). Best effort: the cookies go in any case. */
export async function revokeRefreshToken(refreshToken: string): Promise<void> {
  try {
    const { client, clientId } = cognito();
    await client.send(new RevokeTokenCommand({ ClientId: clientId, Token: refreshToken }));
  } catch {
    // Unreachable Cognito: the token lives out its validity, unused (its cookie is deleted).
  }
}
