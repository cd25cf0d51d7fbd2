/**
 * Requests: each intent as the server action (and so the API route) that carries it out, with the
 * cart version the shopper saw (If-Match) and the change's Idempotency-Key.
 */
import * as actions from "@/lib/actions/cart";
import type { ActionResult, Cart } from "@/lib/api/types";
import type { Intent } from "./optimistic";

export function send(intent: Intent, ifMatch: number | null, idempotencyKey: string): Promise<ActionResult<Cart>> {
  const options = { ifMatch, idempotencyKey };
  switch (intent.kind) {
    case "add":
      return actions.addCartItem({ productId: intent.productId, variantId: intent.variantId, quantity: intent.quantity }, options);
    case "update":
      return actions.updateCartItem(intent.itemId, { quantity: intent.quantity }, options); // 0 removes the line
    case "switch":
      return actions.updateCartItem(intent.itemId, { variantId: intent.variantId }, options);
    case "remove":
      return actions.removeCartItem(intent.itemId, options);
    case "clear":
      return actions.clearCart(options);
    case "save":
      return actions.saveForLater(intent.itemId, options);
    case "restore":
      return actions.restoreSavedItem(intent.savedId, options);
    case "applyCode":
      return actions.applyDiscountCode(intent.code, options);
    case "removeCode":
      return actions.removeDiscountCode(intent.code, options);
    case "acceptPrices":
      return actions.acceptPrices(intent.items, options);
  }
}
