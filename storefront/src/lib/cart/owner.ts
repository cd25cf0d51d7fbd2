import "server-only";
/**
 * Whose journal entries a page may replay (`./journal.ts`): a one-way tag of who is shopping,
 * computed on the server from the storefront's HttpOnly cookies, so the page never sees a token.
 * A signed-in shopper is tagged by their email (stable across token refreshes), a guest by a hash
 * of the guest token, and a visitor with no token yet by "g:".
 */
import { createHash } from "node:crypto";
import { cookies } from "next/headers";
import { ACCESS_COOKIE, EMAIL_COOKIE, GUEST_COOKIE, REFRESH_COOKIE } from "@/lib/auth/cookies";

const tag = (value: string) => createHash("sha256").update(value).digest("hex").slice(0, 16);

/** The token's `sub` claim, read without verifying it: only a tag is made of it (the API verifies
 * the token on every call). */
function subject(jwt: string): string | null {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as { sub?: unknown };
    return typeof payload.sub === "string" ? payload.sub : null;
  } catch {
    return null;
  }
}

export async function cartOwner(): Promise<string> {
  const jar = await cookies();
  const access = jar.get(ACCESS_COOKIE)?.value;
  // Signed in: the email's cookie lives as long as the refresh token (the access token's may be
  // gone until the next refresh), so it tags the same shopper before and after a refresh.
  const email = jar.get(EMAIL_COOKIE)?.value;
  if (email && (access || jar.get(REFRESH_COOKIE)?.value)) return `u:${tag(email)}`;
  if (access) return `u:${tag(subject(access) ?? access)}`;
  const guest = jar.get(GUEST_COOKIE)?.value;
  return guest ? `g:${tag(guest)}` : "g:";
}
