"use server";

/**
 * The cart's server actions: each calls the API as the storefront's server, with the shopper's
 * identity from the storefront's own HttpOnly cookies (guest token as X-Cart-Session, Cognito
 * token as a Bearer), and answers an ActionResult instead of throwing, so the client store can
 * retry (503 / network), roll back with the problem's detail, re-apply after a version conflict
 * or clamp to the stock left.
 */
import { cookies } from "next/headers";
import { api, changeHeaders, GUEST_COOKIE, identityHeaders, NOT_MODIFIED, settle, type ChangeOptions } from "@/lib/api/client";
import type {
  ActionResult,
  Cart,
  CheckoutResult,
  MergeResult,
  SyncLine,
  SyncResult,
  Validation,
} from "@/lib/api/types";

/** The cart; with `ifNoneMatch` (the version the page shows, sent as the API's ETag) an unchanged
 * cart is the API's bodiless 304, answered as `{ ok: false, status: 304 }` (see `isUnchanged`). */
export async function getCart(options: { ifNoneMatch?: number } = {}): Promise<ActionResult<Cart>> {
  const headers = await identityHeaders();
  if (options.ifNoneMatch !== undefined) headers["If-None-Match"] = `"${options.ifNoneMatch}"`;
  const result = await settle(() => api.GET("/cart", { headers }));
  return !result.ok && result.status === 304 ? { ...result, problem: NOT_MODIFIED, retryable: false } : result;
}

export async function addCartItem(
  input: { productId: string; variantId?: string | null; quantity: number },
  options: ChangeOptions = {},
): Promise<ActionResult<Cart>> {
  const headers = await changeHeaders(options);
  const body = { productId: input.productId, quantity: input.quantity, ...(input.variantId ? { variantId: input.variantId } : {}) };
  return settle(() => api.POST("/cart/items", { body, headers }));
}

export async function updateCartItem(
  itemId: string,
  change: { quantity?: number; variantId?: string },
  options: ChangeOptions = {},
): Promise<ActionResult<Cart>> {
  const headers = await changeHeaders(options);
  return settle(() => api.PATCH("/cart/items/{itemId}", { params: { path: { itemId } }, body: change, headers }));
}

export async function removeCartItem(itemId: string, options: ChangeOptions = {}): Promise<ActionResult<Cart>> {
  const headers = await changeHeaders(options);
  return settle(() => api.DELETE("/cart/items/{itemId}", { params: { path: { itemId } }, headers }));
}

export async function clearCart(options: ChangeOptions = {}): Promise<ActionResult<Cart>> {
  const headers = await changeHeaders(options);
  return settle(() => api.DELETE("/cart", { headers }));
}

export async function applyDiscountCode(code: string, options: ChangeOptions = {}): Promise<ActionResult<Cart>> {
  const headers = await changeHeaders(options);
  return settle(() => api.POST("/cart/discount-codes", { body: { code }, headers }));
}

export async function removeDiscountCode(code: string, options: ChangeOptions = {}): Promise<ActionResult<Cart>> {
  const headers = await changeHeaders(options);
  return settle(() => api.DELETE("/cart/discount-codes/{code}", { params: { path: { code } }, headers }));
}

export async function saveForLater(itemId: string, options: ChangeOptions = {}): Promise<ActionResult<Cart>> {
  const headers = await changeHeaders(options);
  return settle(() => api.POST("/cart/items/{itemId}/save", { params: { path: { itemId } }, headers }));
}

export async function restoreSavedItem(savedId: string, options: ChangeOptions = {}): Promise<ActionResult<Cart>> {
  const headers = await changeHeaders(options);
  return settle(() => api.POST("/cart/saved/{savedId}/restore", { params: { path: { savedId } }, headers }));
}

/** The shopper takes the current prices of the lines whose price changed, each at the price they
 * were shown (`unitPrice`): written on the cart, so no reload or other device asks again. A line
 * that moved again since is refused (409 `price_changed`, with the cart to show instead). */
export async function acceptPrices(
  items: { itemId: string; unitPrice: number }[],
  options: ChangeOptions = {},
): Promise<ActionResult<Cart>> {
  const headers = await changeHeaders(options);
  return settle(() => api.POST("/cart/prices/accept", { body: { items }, headers }));
}

export async function validateCart(): Promise<ActionResult<Validation>> {
  const headers = await identityHeaders();
  return settle(() => api.POST("/cart/validate", { headers }));
}

/** The offline queue, flushed in one request: the cart as the shopper sees it. */
export async function syncCart(items: SyncLine[], options: ChangeOptions = {}): Promise<ActionResult<SyncResult>> {
  const headers = await changeHeaders({ idempotencyKey: options.idempotencyKey });
  return settle(() => api.POST("/cart/sync", { body: { items }, headers }));
}

export async function checkout(
  input: { acceptPriceChanges?: boolean } = {},
  options: ChangeOptions = {},
): Promise<ActionResult<CheckoutResult>> {
  const headers = await changeHeaders(options);
  return settle(() => api.POST("/cart/checkout", { body: { acceptPriceChanges: input.acceptPriceChanges ?? false }, headers }));
}

/** After sign-in: the guest cart (X-Cart-Session) folded into the user's (Bearer); the guest
 * token is then forgotten, as the API's own lazy merge does with its cookie. */
export async function mergeCart(options: ChangeOptions = {}): Promise<ActionResult<MergeResult>> {
  const headers = await changeHeaders({ idempotencyKey: options.idempotencyKey });
  const result = await settle(() => api.POST("/cart/merge", { headers }));
  if (result.ok) (await cookies()).delete(GUEST_COOKIE);
  return result;
}
