/**
 * Refusals the engine answers by itself instead of rolling back: a stale cart version (409
 * version_conflict: the change is tried again on the server's cart where it still means something)
 * and a quantity above the stock (409 insufficient_stock: the largest quantity the API allows).
 */
import type { Cart, Problem } from "@/lib/api/types";
import { findLine, type Intent } from "./optimistic";

/** The shopper's intent once the cart is `cart`: the same change, where it still means something. */
export function reapply(intent: Intent, cart: Cart): Intent | null {
  if (intent.kind === "update" || intent.kind === "switch" || intent.kind === "remove" || intent.kind === "save") {
    return cart.items.some((i) => i.id === intent.itemId) ? intent : null;
  }
  if (intent.kind === "restore") return (cart.savedForLater ?? []).some((s) => s.id === intent.savedId) ? intent : null;
  if (intent.kind === "acceptPrices") {
    // Only what the shopper was shown: a line whose price moved meanwhile is shown again, not accepted.
    const items = intent.items.filter((a) => cart.items.some((i) => i.id === a.itemId && i.priceChanged && i.unitPrice === a.unitPrice));
    return items.length ? { ...intent, items } : null;
  }
  return intent;
}

/** A quantity refused for stock: the largest the API allows, or null when none is left. */
export function clamp(intent: Intent, problem: Problem, cart: Cart): { intent: Intent; left: number } | null {
  const max = problem.maxAvailable;
  if (typeof max !== "number") return null;
  if (intent.kind === "update" && max > 0) return { intent: { ...intent, quantity: max }, left: max };
  if (intent.kind === "add") {
    const line = findLine(cart, intent);
    const room = max - (typeof problem.inCart === "number" ? problem.inCart : line?.quantity ?? 0);
    if (room > 0) return { intent: { ...intent, quantity: room }, left: max };
  }
  return null;
}

/** The line id a stock note is shown under (an add's line once the cart holds it). */
export function lineKey(cart: Cart, intent: Intent): string | null {
  if (intent.kind === "update") return intent.itemId;
  if (intent.kind === "add") return findLine(cart, intent)?.id ?? null;
  return null;
}
