import { signInUrl } from "@/lib/auth/next-path";

/**
 * The client's answer to a signed-in session that ended (a server action's `session_expired`:
 * Cognito refused the refresh token, or the API refused the bearer): off to
 * `/auth?next=<this page>&reason=session_ended`, a full navigation, where the shopper reads "Your
 * session ended — sign in again" and is brought back here after signing in. Anything added as a
 * guest meanwhile merges into their cart then. Returns whether it handled the problem, so a caller
 * stops (no toast, no retry).
 */
export const SESSION_EXPIRED = "session_expired";

let leaving = false;

export function endSessionOn(problem: { code?: string } | null | undefined): boolean {
  if (problem?.code !== SESSION_EXPIRED) return false;
  if (typeof window !== "undefined" && !leaving) {
    leaving = true;
    window.location.assign(signInUrl(`${window.location.pathname}${window.location.search}`, true));
  }
  return true;
}
