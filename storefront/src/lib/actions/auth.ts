"use server";

/**
 * Sign-up and sign-in against Cognito's own API (the user pool's app client, configured by env:
 * COGNITO_REGION, COGNITO_CLIENT_ID, and COGNITO_ENDPOINT locally, where `make dev` runs moto's
 * Cognito; unset in production). The calls run on the storefront's server so the tokens go
 * straight into HttpOnly cookies and never reach the page's JavaScript. After sign-in the guest
 * cart is merged (`POST /cart/merge`) and the merge report is returned for the page to show.
 *
 * The password flow is USER_PASSWORD_AUTH (the app client must allow it); the guest token also
 * travels as ClientMetadata, as Amplify's signIn passes it to the Post Authentication trigger.
 */
import { cookies } from "next/headers";
import {
  CognitoIdentityProviderClient,
  ConfirmSignUpCommand,
  InitiateAuthCommand,
  SignUpCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { ACCESS_COOKIE, cookieOptions, EMAIL_COOKIE, GUEST_COOKIE, ID_COOKIE } from "@/lib/api/client";
import { mergeCart } from "./cart";
import type { Cart, MergeReport } from "@/lib/api/types";

export type AuthResult =
  | { ok: true; email: string; cart: Cart | null; merge: MergeReport | null }
  | { ok: false; code: string; message: string; needsConfirmation?: boolean };

function cognito(): { client: CognitoIdentityProviderClient; clientId: string } {
  const clientId = process.env.COGNITO_CLIENT_ID;
  if (!clientId) throw new Error("COGNITO_CLIENT_ID is not set: sign-in is not configured");
  const endpoint = process.env.COGNITO_ENDPOINT || undefined;
  const client = new CognitoIdentityProviderClient({
    region: process.env.COGNITO_REGION ?? "us-east-1",
    endpoint,
    // The public app-client calls are unsigned in Cognito; a local emulator still wants some credentials.
    ...(endpoint ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
  });
  return { client, clientId };
}

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
  const maxAge = tokens.ExpiresIn ?? 3600;
  jar.set(ACCESS_COOKIE, tokens.AccessToken, cookieOptions(maxAge));
  if (tokens.IdToken) jar.set(ID_COOKIE, tokens.IdToken, cookieOptions(maxAge));
  jar.set(EMAIL_COOKIE, email, cookieOptions(maxAge));
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

export async function signOut(): Promise<void> {
  const jar = await cookies();
  for (const name of [ACCESS_COOKIE, ID_COOKIE, EMAIL_COOKIE, GUEST_COOKIE]) jar.delete(name);
}
