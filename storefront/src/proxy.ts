import { NextResponse, type NextRequest } from "next/server";
import { refreshSession } from "@/lib/auth/cognito";
import { ACCESS_COOKIE, clearSession, ID_COOKIE, REFRESH_COOKIE, SESSION_COOKIES, writeTokens } from "@/lib/auth/cookies";
import { refreshDue } from "@/lib/auth/jwt";
import { AUTH_PATH, signInUrl } from "@/lib/auth/next-path";

/**
 * Next.js 16's proxy (the renamed middleware; Node.js runtime), before every page request: a
 * signed-in shopper whose access token is about to expire (within the margin of its `exp`, or its
 * cookie already gone) gets new tokens from the refresh token before the page renders, so the
 * render's API calls carry a good bearer. The new tokens go to the render (the request's cookies)
 * and to the browser (Set-Cookie).
 *
 * A refresh token Cognito refuses (revoked, expired) sends the page request to
 * `/auth?next=<this path>&reason=session_ended`; the cookies are cleared when /auth itself is asked
 * for, so a prefetch that meets the dead session cannot turn the shopper into a guest unseen. The
 * guest cart's cookie is never touched: it merges at the next sign-in.
 *
 * Server actions (POSTs with `Next-Action`) are left to themselves: they refresh before calling the
 * API (`@/lib/auth/session`) and answer `session_expired`, which the client store turns into the same
 * trip to /auth. Nothing here is logged: the cookies hold tokens.
 */
export async function proxy(request: NextRequest): Promise<NextResponse> {
  if (request.headers.has("next-action")) return NextResponse.next();
  const refresh = request.cookies.get(REFRESH_COOKIE)?.value;
  if (!refresh || !refreshDue(request.cookies.get(ACCESS_COOKIE)?.value)) return NextResponse.next();

  const outcome = await refreshSession(refresh);
  if (outcome.kind === "refreshed") {
    request.cookies.set(ACCESS_COOKIE, outcome.accessToken);
    if (outcome.idToken) request.cookies.set(ID_COOKIE, outcome.idToken);
    if (outcome.refreshToken) request.cookies.set(REFRESH_COOKIE, outcome.refreshToken);
    const response = NextResponse.next({ request: { headers: request.headers } });
    writeTokens(response.cookies, outcome);
    return response;
  }
  if (outcome.kind === "unavailable") return NextResponse.next(); // the render tries again, or the API says 401

  const { pathname, searchParams } = request.nextUrl;
  if (pathname === AUTH_PATH) {
    for (const name of SESSION_COOKIES) request.cookies.delete(name);
    const response = NextResponse.next({ request: { headers: request.headers } });
    clearSession(response.cookies);
    return response;
  }
  searchParams.delete("_rsc"); // the router's cache key, not the page's
  const query = searchParams.toString();
  return NextResponse.redirect(new URL(signInUrl(`${pathname}${query ? `?${query}` : ""}`, true), request.url));
}

export const config = {
  // Pages and their router requests; not the build's static files, images or icons.
  matcher: ["/((?!_next/static|_next/image|favicon.ico|.*\\.(?:png|jpg|jpeg|gif|svg|webp|avif|ico|css|js|map|txt)$).*)"],
};
