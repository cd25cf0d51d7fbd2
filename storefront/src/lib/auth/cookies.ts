/**
 * The storefront's own first-party cookies, all HttpOnly (no token reaches the page's JavaScript),
 * SameSite=Lax, path=/, Secure in production:
 *
 * - `sf_access_token`, `sf_id_token`: Cognito's access and ID tokens, for as long as they live
 *   (`ExpiresIn`, an hour with the template's app client); the access token is the API's Bearer.
 * - `sf_refresh_token`: Cognito's refresh token, for as long as it lives: the app client's
 *   RefreshTokenValidity (template.yaml: 30 days), which the storefront cannot read without AWS
 *   credentials, so `COGNITO_REFRESH_TOKEN_DAYS` names it (default 30; keep it equal to the client's).
 * - `sf_email`: who is signed in, for the header; as long as the refresh token.
 * - `sf_cart_session`: the guest cart's token (30 days), spent by the merge at sign-in.
 *
 * No server module here (no `server-only`, no `next/headers`): src/proxy.ts writes these too.
 */

export const GUEST_COOKIE = "sf_cart_session";
export const ACCESS_COOKIE = "sf_access_token";
export const ID_COOKIE = "sf_id_token";
export const REFRESH_COOKIE = "sf_refresh_token";
export const EMAIL_COOKIE = "sf_email";
/** A signed-in session's cookies: what a session that ended (or signing out) removes. */
export const SESSION_COOKIES = [ACCESS_COOKIE, ID_COOKIE, REFRESH_COOKIE, EMAIL_COOKIE] as const;

/** template.yaml's UserPoolClient RefreshTokenValidity (days); tests/integration/test_template_sessions.py
 * holds the two equal. */
export const DEFAULT_REFRESH_TOKEN_DAYS = 30;

const secure = process.env.NODE_ENV === "production" && !process.env.STOREFRONT_INSECURE_COOKIES;

export const cookieOptions = (maxAge: number) =>
  ({ httpOnly: true, sameSite: "lax", path: "/", secure, maxAge }) as const;

/** The refresh token's cookie lifetime in seconds (`COGNITO_REFRESH_TOKEN_DAYS`, Cognito allows 1 hour to 10 years). */
export function refreshTokenMaxAge(): number {
  const raw = process.env.COGNITO_REFRESH_TOKEN_DAYS?.trim() || String(DEFAULT_REFRESH_TOKEN_DAYS);
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new Error(`COGNITO_REFRESH_TOKEN_DAYS must be the app client's refresh token validity in days, 1 to 3650 (not ${JSON.stringify(raw)})`);
  }
  return days * 24 * 3600;
}

/** What a Cognito sign-in or refresh gives (`AuthenticationResult`); a refresh gives no refresh
 * token unless the app client rotates them. */
export interface SessionTokens {
  accessToken: string;
  idToken?: string;
  refreshToken?: string;
  expiresIn: number;
}

/** Both places cookies are written: `cookies()` in server actions, `NextResponse.cookies` in the proxy. */
export interface CookieJar {
  set(name: string, value: string, options: ReturnType<typeof cookieOptions>): unknown;
  delete(name: string): unknown;
}

export function writeTokens(jar: CookieJar, tokens: SessionTokens): void {
  jar.set(ACCESS_COOKIE, tokens.accessToken, cookieOptions(tokens.expiresIn));
  if (tokens.idToken) jar.set(ID_COOKIE, tokens.idToken, cookieOptions(tokens.expiresIn));
  if (tokens.refreshToken) jar.set(REFRESH_COOKIE, tokens.refreshToken, cookieOptions(refreshTokenMaxAge()));
}

/** The session's cookies gone; the guest cart's cookie stays (it merges at the next sign-in). */
export function clearSession(jar: CookieJar): void {
  for (const name of SESSION_COOKIES) jar.delete(name);
}
