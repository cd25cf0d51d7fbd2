import "server-only";
import { cookies } from "next/headers";
import { refreshSession } from "./cognito";
import { ACCESS_COOKIE, REFRESH_COOKIE, writeTokens } from "./cookies";
import { expired, refreshDue } from "./jwt";

/**
 * The shopper's session as a server action or a page render is about to send it to the API:
 *
 * - `guest`: no session cookies.
 * - `signed-in`: an access token good for at least the refresh margin. When the cookie's token is
 *   due (or gone: its cookie lives as long as the token), it is refreshed here with the refresh
 *   token and, in a server action, the cookies are rewritten. A render cannot write cookies; the
 *   proxy (src/proxy.ts) has refreshed them before any page renders, so a render refreshes only
 *   when the proxy did not run, and then uses the new token for that request alone.
 * - `ended`: Cognito refused the refresh token. The cookies stay until the shopper reaches /auth
 *   (the proxy clears them there), so every later action keeps answering `session_expired` instead
 *   of quietly working on a new guest cart.
 * - `unavailable`: Cognito could not be asked and the access token has expired: a retryable 503.
 */
export type SessionToken =
  | { kind: "guest" }
  | { kind: "signed-in"; accessToken: string }
  | { kind: "ended" }
  | { kind: "unavailable" };

export async function sessionToken(): Promise<SessionToken> {
  const jar = await cookies();
  const access = jar.get(ACCESS_COOKIE)?.value;
  const refresh = jar.get(REFRESH_COOKIE)?.value;
  // Without a refresh token (a session signed in before they were kept) the token is used as it is.
  if (!refresh) return access ? { kind: "signed-in", accessToken: access } : { kind: "guest" };
  if (access && !refreshDue(access)) return { kind: "signed-in", accessToken: access };
  const outcome = await refreshSession(refresh);
  if (outcome.kind === "refreshed") {
    try {
      writeTokens(jar, outcome);
    } catch {
      // Rendering a page: cookies are read-only here (the proxy writes them on navigations).
    }
    return { kind: "signed-in", accessToken: outcome.accessToken };
  }
  if (outcome.kind === "ended") return { kind: "ended" };
  return access && !expired(access) ? { kind: "signed-in", accessToken: access } : { kind: "unavailable" };
}
