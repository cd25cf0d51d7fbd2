/**
 * Where /auth sends the shopper after signing in (`/auth?next=<path>`): a path of this site only,
 * never an open redirect. Shared by the auth page, the proxy and the client's session handler.
 */

export const AUTH_PATH = "/auth";
/** `/auth?reason=session_ended`: the page says "Your session ended — sign in again". */
export const SESSION_ENDED = "session_ended";
const DEFAULT_NEXT = "/cart";
const SITE = "http://storefront.invalid";

/** `value` when it is a path of this site, else `fallback`. Refused: anything not starting with one
 * `/` (absolute URLs, `//host` and `/\host`, which browsers read as another host), control
 * characters and whitespace (URL parsers drop tabs and newlines, so `/\t/host` would become
 * `//host`), and /auth itself (a sign-in that returns to sign-in). */
export function safeNextPath(value: string | string[] | null | undefined, fallback = DEFAULT_NEXT): string {
  if (typeof value !== "string" || !value.startsWith("/") || value.startsWith("//")) return fallback;
  if (/[\\\s\u0000-\u001f\u007f]/.test(value)) return fallback;
  let url: URL;
  try {
    url = new URL(value, SITE);
  } catch {
    return fallback;
  }
  if (url.origin !== SITE || url.pathname === AUTH_PATH || url.pathname.startsWith(`${AUTH_PATH}/`)) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** The sign-in page that returns to `next` (and, for a session that ended, says so). */
export function signInUrl(next: string, sessionEnded = false): string {
  const query = new URLSearchParams({ next: safeNextPath(next) });
  if (sessionEnded) query.set("reason", SESSION_ENDED);
  return `${AUTH_PATH}?${query.toString()}`;
}
