"use server";

/**
 * Lists and share links (docs/lists.md): the Wishlist and named lists, moving a cart line to a list and
 * back, saving the cart as a list and restoring it, and read-only share links. Each calls the API as the
 * storefront's server with the shopper's identity (./cart.ts explains how), and answers an ActionResult.
 * `GET /shared/{token}` is public: it is read with no identity at all.
 */
import { api, changeHeaders, identityHeaders, settle, type ChangeOptions } from "@/lib/api/client";
import type {
  ActionResult,
  AddedToCart,
  ListMove,
  Lists,
  SharedCart,
  ShareLink,
  ShareLinks,
  ShoppingList,
} from "@/lib/api/types";

export async function getLists(): Promise<ActionResult<Lists>> {
  const headers = await identityHeaders();
  return settle(() => api.GET("/lists", { headers }));
}

export async function getList(listId: string): Promise<ActionResult<ShoppingList>> {
  const headers = await identityHeaders();
  return settle(() => api.GET("/lists/{listId}", { params: { path: { listId } }, headers }));
}

export async function createList(name: string, options: ChangeOptions = {}): Promise<ActionResult<ShoppingList>> {
  const headers = await changeHeaders(options);
  return settle(() => api.POST("/lists", { body: { name }, headers }));
}

export async function deleteList(listId: string, options: ChangeOptions = {}): Promise<ActionResult<Lists>> {
  const headers = await changeHeaders(options);
  return settle(() => api.DELETE("/lists/{listId}", { params: { path: { listId } }, headers }));
}

export async function removeListItem(
  listId: string,
  listItemId: string,
  options: ChangeOptions = {},
): Promise<ActionResult<ShoppingList>> {
  const headers = await changeHeaders(options);
  const path = { listId, listItemId };
  return settle(() => api.DELETE("/lists/{listId}/items/{listItemId}", { params: { path }, headers }));
}

/** A cart line to a list (no listId: the Wishlist, made on first use); `ifMatch` is the cart's version. */
export async function moveToList(
  itemId: string,
  listId: string | null = null,
  options: ChangeOptions = {},
): Promise<ActionResult<ListMove>> {
  const headers = await changeHeaders(options);
  const body = listId ? { listId } : {};
  return settle(() => api.POST("/cart/items/{itemId}/move-to-list", { params: { path: { itemId } }, body, headers }));
}

/** A list item into the cart, as an add; `ifMatch` is the list's version. */
export async function moveToCart(
  listId: string,
  listItemId: string,
  options: ChangeOptions = {},
): Promise<ActionResult<ListMove>> {
  const headers = await changeHeaders(options);
  const path = { listId, listItemId };
  return settle(() => api.POST("/lists/{listId}/items/{listItemId}/move-to-cart", { params: { path }, headers }));
}

/** Every item of the list added to the cart, with what did not fit; the list is kept. */
export async function restoreList(listId: string, options: ChangeOptions = {}): Promise<ActionResult<AddedToCart>> {
  const headers = await changeHeaders(options);
  return settle(() => api.POST("/lists/{listId}/restore", { params: { path: { listId } }, headers }));
}

export async function saveCartAsList(name: string, options: ChangeOptions = {}): Promise<ActionResult<ShoppingList>> {
  const headers = await changeHeaders(options);
  return settle(() => api.POST("/cart/save-as-list", { body: { name }, headers }));
}

export async function shareCart(options: ChangeOptions = {}): Promise<ActionResult<ShareLink>> {
  const headers = await changeHeaders(options);
  return settle(() => api.POST("/cart/share", { body: {}, headers }));
}

export async function shareList(listId: string, options: ChangeOptions = {}): Promise<ActionResult<ShareLink>> {
  const headers = await changeHeaders(options);
  return settle(() => api.POST("/lists/{listId}/share", { params: { path: { listId } }, body: {}, headers }));
}

export async function getShares(): Promise<ActionResult<ShareLinks>> {
  const headers = await identityHeaders();
  return settle(() => api.GET("/shares", { headers }));
}

export async function revokeShare(shareId: string, options: ChangeOptions = {}): Promise<ActionResult<ShareLinks>> {
  const headers = await changeHeaders(options);
  return settle(() => api.DELETE("/shares/{shareId}", { params: { path: { shareId } }, headers }));
}

/** What a share link shows: read with no identity (the route is public, and never starts a session). */
export async function getSharedCart(token: string): Promise<ActionResult<SharedCart>> {
  return settle(() => api.GET("/shared/{token}", { params: { path: { token } } }));
}

/** The link's lines added to the caller's own cart (a new visitor's first cart: its cookie is kept). */
export async function copySharedCart(token: string, options: ChangeOptions = {}): Promise<ActionResult<AddedToCart>> {
  const headers = await changeHeaders(options);
  return settle(() => api.POST("/cart/copy-shared", { body: { token }, headers }));
}
