/**
 * When a Cognito token expires, read from its payload WITHOUT verifying its signature: the storefront
 * only decides when to refresh, and sends the token on; the API verifies every token it receives
 * (signature against the pool's JWKS, `exp`, `iss`, `token_use`, app client). Decoding is one
 * base64url decode of the middle segment, so no JWT library is added for it.
 */

/** Refresh this long before `exp`: a request that left with the token still reaches the API in time. */
export const REFRESH_MARGIN_S = 60;

export interface TokenTimes {
  iat: number;
  exp: number;
}

export function tokenTimes(token: string | undefined): TokenTimes | null {
  const payload = token?.split(".")[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { iat?: unknown; exp?: unknown };
    if (typeof claims.exp !== "number") return null;
    return { exp: claims.exp, iat: typeof claims.iat === "number" ? claims.iat : claims.exp - 3600 };
  } catch {
    return null;
  }
}

/** True when the token should be replaced now: unreadable, expired, or within the margin of `exp`.
 * The margin is at most a third of the token's lifetime, so a short-lived token (the local
 * emulator's few seconds in tests; Cognito's least is 5 minutes) is still used for most of its life. */
export function refreshDue(token: string | undefined, nowS = Date.now() / 1000): boolean {
  const times = tokenTimes(token);
  if (!times) return true;
  const margin = Math.min(REFRESH_MARGIN_S, Math.max(1, (times.exp - times.iat) / 3));
  return nowS >= times.exp - margin;
}

export function expired(token: string | undefined, nowS = Date.now() / 1000): boolean {
  const times = tokenTimes(token);
  return !times || nowS >= times.exp;
}
