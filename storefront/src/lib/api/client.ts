import "server-only";
import createClient, { type Middleware } from "openapi-fetch";
import { cookies } from "next/headers";
import { ACCESS_COOKIE, EMAIL_COOKIE, GUEST_COOKIE, ID_COOKIE, REFRESH_COOKIE, cookieOptions } from "@/lib/auth/cookies";
import { sessionToken } from "@/lib/auth/session";
import { SESSION_EXPIRED } from "@/lib/session";
import { forwardingHeaders } from "./client-address";
import type { paths } from "./schema";
import type { ActionResult, Problem } from "./types";

/** The cart API, as the storefront's server reaches it (API Gateway's URL in production). */
export function apiUrl(): string {
  return (process.env.CART_API_URL ?? "http://127.0.0.1:3000").replace(/\/$/, "");
}

export { ACCESS_COOKIE, cookieOptions, EMAIL_COOKIE, GUEST_COOKIE, ID_COOKIE, REFRESH_COOKIE } from "@/lib/auth/cookies";

/** A signed-in session that ended: Cognito refused its refresh token, or the API refused its bearer
 * (401 `invalid_token`). The client store sends the shopper to /auth, which returns them here. */
const SESSION_ENDED: Problem = {
  type: "/problems/session_expired",
  title: "Your session ended",
  status: 401,
  detail: "Your session ended — sign in again.",
  code: SESSION_EXPIRED,
};

const IDENTITY_UNAVAILABLE: Problem = {
  type: "/problems/identity_unavailable",
  title: "Sign-in could not be checked",
  status: 503,
  detail: "We couldn't check your sign-in just now. Please try again.",
  code: "identity_unavailable",
};

/** How `identityHeaders` tells the middleware below that no request should leave (never sent). */
const SESSION_STATE = "x-storefront-session";

const problemResponse = (problem: Problem) =>
  new Response(JSON.stringify(problem), { status: problem.status, headers: { "content-type": "application/problem+json" } });

/** Every API call: a session that ended (or could not be refreshed) is answered here, without
 * calling the API; a 401 `invalid_token` for a bearer becomes `session_expired`, and (in a server
 * action) the refused tokens' cookies go: a refresh token, if any, gets new ones next time; without
 * one the session is over, so /auth's header no longer shows it. */
const sessionMiddleware: Middleware = {
  onRequest({ request }) {
    const state = request.headers.get(SESSION_STATE);
    if (state === "ended") return problemResponse(SESSION_ENDED);
    if (state === "unavailable") return problemResponse(IDENTITY_UNAVAILABLE);
    return undefined;
  },
  async onResponse({ request, response }) {
    if (response.status !== 401 || !request.headers.has("authorization")) return undefined;
    const problem = (await response.clone().json().catch(() => null)) as { code?: string } | null;
    if (problem?.code !== "invalid_token") return undefined;
    const jar = await cookies();
    try {
      jar.delete(ACCESS_COOKIE);
      jar.delete(ID_COOKIE);
      if (!jar.get(REFRESH_COOKIE)?.value) jar.delete(EMAIL_COOKIE);
    } catch {
      // Rendering a page: cookies are read-only here.
    }
    return problemResponse(SESSION_ENDED);
  },
};

export const api = createClient<paths>({ baseUrl: apiUrl(), cache: "no-store" });
api.use(sessionMiddleware);

/** Who the shopper is: a Cognito bearer when signed in (refreshed first when it is about to
 * expire: `@/lib/auth/session`), else the guest token (both may be sent just after sign-in, which
 * is how `POST /cart/merge` finds the guest cart); and, with the forwarder key configured, where
 * they are (`./client-address.ts`). */
export async function identityHeaders(): Promise<Record<string, string>> {
  const jar = await cookies();
  const headers: Record<string, string> = await forwardingHeaders();
  const session = await sessionToken();
  const guest = jar.get(GUEST_COOKIE)?.value;
  if (session.kind === "signed-in") headers.Authorization = `Bearer ${session.accessToken}`;
  else if (session.kind !== "guest") headers[SESSION_STATE] = session.kind;
  if (guest) headers["X-Cart-Session"] = guest;
  return headers;
}

/** Signed in: an access token, or a refresh token that gets one (its cookie outlives the access token's). */
export async function isSignedIn(): Promise<boolean> {
  const jar = await cookies();
  return Boolean(jar.get(ACCESS_COOKIE)?.value || jar.get(REFRESH_COOKIE)?.value);
}

/** Keep the guest token the API hands out (server actions only: components cannot set cookies). */
export async function rememberGuestToken(response: Response | undefined): Promise<void> {
  const token = response?.headers.get("X-Cart-Session");
  if (!token) return;
  const jar = await cookies();
  if (jar.get(ACCESS_COOKIE)?.value || jar.get(REFRESH_COOKIE)?.value) return; // a signed-in shopper's cart is keyed by their sub
  if (jar.get(GUEST_COOKIE)?.value === token) return;
  try {
    jar.set(GUEST_COOKIE, token, cookieOptions(30 * 24 * 3600));
  } catch {
    // Rendering a page (not a server action): cookies are read-only there; the next change keeps it.
  }
}

/** What every change sends: the shopper's identity, the cart version they saw, one retry key. */
export interface ChangeOptions {
  ifMatch?: number | null;
  idempotencyKey?: string;
}

export async function changeHeaders(options: ChangeOptions = {}): Promise<Record<string, string>> {
  const headers = await identityHeaders();
  if (options.ifMatch !== undefined && options.ifMatch !== null) headers["If-Match"] = `"${options.ifMatch}"`;
  if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
  return headers;
}

const UNREACHABLE: Problem = {
  type: "/problems/api_unreachable",
  title: "The cart service could not be reached",
  status: 503,
  detail: "The cart service could not be reached. Please try again.",
  code: "api_unreachable",
};

/** `GET /cart` with If-None-Match naming the current version: the API's 304 as an ActionResult. */
export const NOT_MODIFIED: Problem = {
  type: "/problems/not_modified",
  title: "Not modified",
  status: 304,
  detail: "The cart has not changed.",
  code: "not_modified",
};

/** One API call as an ActionResult: 503s and network failures are marked retryable, so the
 * client's retry loop (100/200/400 ms, one Idempotency-Key) can run them again. */
export async function settle<T>(
  call: () => Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<ActionResult<T>> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call();
  } catch {
    return { ok: false, status: 503, problem: UNREACHABLE, retryable: true };
  }
  await rememberGuestToken(result.response);
  if (result.response.ok && result.data !== undefined) return { ok: true, data: result.data };
  const status = result.response.status;
  const problem = isProblem(result.error)
    ? result.error
    : { ...UNREACHABLE, status, code: `http_${status}`, detail: `The cart service answered ${status}.` };
  return { ok: false, status, problem, retryable: status === 503 || status === 502 || status === 504 };
}

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && "code" in value && "detail" in value;
}
