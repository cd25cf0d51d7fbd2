"use server";

/**
 * Recovery links (`/cart/recover?token=…`): the abandoned cart the link names becomes this
 * browser's cart (`POST /cart/recover`). A new guest gets its session cookie from `settle`; a
 * signed-in shopper's guest cart is folded in by the API, so its cookie goes, as after a merge.
 */
import { cookies } from "next/headers";
import { api, changeHeaders, GUEST_COOKIE, isSignedIn, settle } from "@/lib/api/client";
import type { ActionResult, Cart } from "@/lib/api/types";

export async function recoverCart(token: string, options: { idempotencyKey?: string } = {}): Promise<ActionResult<Cart>> {
  const headers = await changeHeaders({ idempotencyKey: options.idempotencyKey });
  const result = await settle(() => api.POST("/cart/recover", { body: { token }, headers }));
  if (result.ok && (await isSignedIn())) (await cookies()).delete(GUEST_COOKIE);
  return result;
}
