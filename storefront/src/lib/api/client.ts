import "server-only";
import createClient from "openapi-fetch";
import { cookies } from "next/headers";
import { forwardingHeaders } from "./client-address";
import type { paths } from "./schema";
import type { ActionResult, Problem } from "./types";

/** The cart API, as the storefront's server reaches it (API Gateway's URL in production). */
export function apiUrl(): string {
  return (process.env.CART_API_URL ?? "http://127.0.0.1:3000").replace(/\/$/, "");
}

export const api = createClient<paths>({ baseUrl: apiUrl(), cache: "no-store" });

/** The storefront's own first-party cookies: the guest token and the shopper's Cognito tokens. */
export const GUEST_COOKIE = "sf_cart_session";
export const ACCESS_COOKIE = "sf_access_token";
export const ID_COOKIE = "sf_id_token";
export const EMAIL_COOKIE = "sf_email";

const secure = process.env.NODE_ENV === "production" && !process.env.STOREFRONT_INSECURE_COOKIES;

export const cookieOptions = (maxAge: number) =>
  ({ httpOnly: true, sameSite: "lax", path: "/", secure, maxAge }) as const;

/** Who the shopper is: a Cognito bearer when signed in, else the guest token (both may be sent
 * just after sign-in, which is how `POST /cart/merge` finds the guest cart); and, with the
 * forwarder key configured, where they are (`./client-address.ts`). */
export async function identityHeaders(): Promise<Record<string, string>> {
  const jar = await cookies();
  const headers: Record<string, string> = await forwardingHeaders();
  const access = jar.get(ACCESS_COOKIE)?.value;
  const guest = jar.get(GUEST_COOKIE)?.value;
  if (access) headers.Authorization = `Bearer ${access}`;
  if (guest) headers["X-Cart-Session"] = guest;
  return headers;
}

export async function isSignedIn(): Promise<boolean> {
  return Boolean((await cookies()).get(ACCESS_COOKIE)?.value);
}

/** Keep the guest token the API hands out (server actions only: components cannot set cookies). */
export async function rememberGuestToken(response: Response | undefined): Promise<void> {
  const token = response?.headers.get("X-Cart-Session");
  if (!token) return;
  const jar = await cookies();
  if (jar.get(ACCESS_COOKIE)?.value) return; // a signed-in shopper's cart is keyed by their sub
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
