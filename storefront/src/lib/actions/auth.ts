"use server";

/**
 * Sign-up and sign-in against Cognito's own API (the user pool's app client, configured by env:
 * COGNITO_REGION, COGNITO_CLIENT_ID, and COGNITO_ENDPOINT locally, where `make dev` runs moto's
 * Cognito; unset in production: `@/lib/auth/cognito`). The calls run on the storefront's server so
 * the tokens go straight into HttpOnly cookies and never reach the page's JavaScript: the access and
 * ID tokens for as long as they live, the refresh token for as long as it lives, from which the
 * server refreshes the others before they expire (`@/lib/auth/session`, src/proxy.ts). After
 * sign-in the guest cart is merged (`POST /cart/merge`) and the merge report is returned for the
 * page to show.
 *
 * The password flow is USER_PASSWORD_AUTH (the app client must allow it); the guest token also
 * travels as ClientMetadata, as Amplify's signIn passes it to the Post Authentication trigger.
 */
import { cookies } from "next/headers";
import { ConfirmSignUpCommand, InitiateAuthCommand, SignUpCommand } from "@aws-sdk/client-cognito-identity-provider";
import { cognito, revokeRefreshToken } from "@/lib/auth/cognito";
import {
  clearSession,
  cookieOptions,
  EMAIL_COOKIE,
  GUEST_COOKIE,
  REFRESH_COOKIE,
  refreshTokenMaxAge,
  writeTokens,
} from "@/lib/auth/cookies";
import { mergeCart } from "./cart";
import type { Cart, MergeReport } from "@/lib/api/types";

export type AuthResult =
  | { ok: true; email: string; cart: Cart | null; merge: MergeReport | null }
  | { ok: false; code: string; message: string; needsConfirmation?: boolean };

const MESSAGES: Record<string, string> = {
  NotAuthorizedException: "Incorrect email or password.",
  UserNotFoundException: "Incorrect email or password.",
  UsernameExistsException: "An account with this email already exists. Sign in instead.",
  InvalidPasswordException: "Choose a longer password with upper and lower case letters, a digit and a symbol.",
  InvalidParameterException: "Check the email address and password.",
  CodeMismatchException: "That confirmation code is not right.",
  UserNotConfirmedException: "Confirm your email address first.",
  TooManyRequestsException: "Too many attempts. Please wait a moment.",
};

function failure(error: unknown): AuthResult {
  const code = (error as { name?: string })?.name ?? "Error";
  return {
    ok: false,
    code,
    message: MESSAGES[code] ?? "Sign-in is unavailable right now. Please try again.",
    needsConfirmation: code === "UserNotConfirmedException",
  };
}

export async function signIn(email: string, password: string): Promise<AuthResult> {
  const jar = await cookies();
  const guest = jar.get(GUEST_COOKIE)?.value;
  let tokens;
  try {
    const { client, clientId } = cognito();
    const answer = await client.send(
      new InitiateAuthCommand({
        ClientId: clientId,
        AuthFlow: "USER_PASSWORD_AUTH",
        AuthParameters: { USERNAME: email, PASSWORD: password },
        ...(guest ? { ClientMetadata: { cartSession: guest } } : {}),
      }),
    );
    tokens = answer.AuthenticationResult;
  } catch (error) {
    return failure(error);
  }
  if (!tokens?.AccessToken) return { ok: false, code: "challenge", message: "This account needs a step this storefront does not offer." };
  writeTokens(jar, {
    accessToken: tokens.AccessToken,
    idToken: tokens.IdToken,
    refreshToken: tokens.RefreshToken,
    expiresIn: tokens.ExpiresIn ?? 3600,
  });
  if (!tokens.RefreshToken) jar.delete(REFRESH_COOKIE); // never a previous session's
  jar.set(EMAIL_COOKIE, email, cookieOptions(refreshTokenMaxAge()));
  if (!guest) return { ok: true, email, cart: null, merge: null };
  const merged = await mergeCart({ idempotencyKey: `merge-${crypto.randomUUID()}` });
  return merged.ok
    ? { ok: true, email, cart: merged.data.cart, merge: merged.data.merge }
    : { ok: true, email, cart: null, merge: null }; // the API's lazy merge takes over on the next request
}

/** Sign-up: Cognito mails a code, which confirmSignUp takes; then the shopper is signed in. */
export async function signUp(email: string, password: string): Promise<AuthResult> {
  try {
    const { client, clientId } = cognito();
    const answer = await client.send(
      new SignUpCommand({ ClientId: clientId, Username: email, Password: password, UserAttributes: [{ Name: "email", Value: email }] }),
    );
    if (answer.UserConfirmed) return signIn(email, password);
  } catch (error) {
    return failure(error);
  }
  return { ok: false, code: "confirmation_required", message: `We sent a code to ${email}.`, needsConfirmation: true };
}

export async function confirmSignUp(email: string, password: string, code: string): Promise<AuthResult> {
  try {
    const { client, clientId } = cognito();
    await client.send(new ConfirmSignUpCommand({ ClientId: clientId, Username: email, ConfirmationCode: code }));
  } catch (error) {
    return failure(error);
  }
  return signIn(email, password);
}

/** Sign-out: the refresh token revoked at Cognito, then every cookie of the session and the guest's. */
export async function signOut(): Promise<void> {
  const jar = await cookies();
  const refresh = jar.get(REFRESH_COOKIE)?.value;
  if (refresh) await revokeRefreshToken(refresh);
  clearSession(jar);
  jar.delete(GUEST_COOKIE);
}
