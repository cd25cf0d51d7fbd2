import { problemMessage } from "@/lib/format";
import type { AddedLine, Problem } from "@/lib/api/types";

/** Each list and share-link problem as a sentence a shopper understands (else the cart's wording). */
export function listMessage(problem: Problem): string {
  switch (problem.code) {
    case "list_limit_exceeded":
      if (problem.limit === "maxLists") return `You can keep at most ${problem.allowed} lists. Delete one first.`;
      if (problem.limit === "maxListItems") return `A list can hold at most ${problem.allowed} items.`;
      if (problem.limit === "maxShareLinks") return `You can have at most ${problem.allowed} share links at once. Revoke one first.`;
      return `A list item can hold at most ${problem.allowed}.`;
    case "list_not_found":
      return "That list no longer exists.";
    case "list_item_not_found":
      return "That item is no longer in the list.";
    case "list_changed":
      return "This list changed in another window. It has been refreshed.";
    case "cart_empty":
      return "Your cart is empty.";
    case "share_link_invalid":
      return "This link doesn't work — it may have been cut short when it was copied.";
    case "share_link_expired":
      return "This link has expired. Ask for a new one.";
    case "share_link_revoked":
      return "This link no longer works: whoever shared it stopped sharing.";
    case "insufficient_stock":
      return typeof problem.maxAvailable === "number" && problem.maxAvailable > 0
        ? `Only ${problem.maxAvailable} left: it stays in your list.`
        : "Out of stock: it stays in your list.";
    case "validation_failed":
      return "Give the list a name.";
    default:
      return problemMessage(problem as Parameters<typeof problemMessage>[0]);
  }
}

/** Why a line of a restore or a copy did not all go into the cart. */
export function addedReason(line: AddedLine): string {
  switch (line.reason) {
    case "out_of_stock": return "out of stock";
    case "insufficient_stock": return "not enough in stock";
    case "max_quantity_per_line": return "the most one order may hold";
    case "max_per_customer": return "the most one customer may buy";
    case "max_lines_per_cart": return "your cart is full";
    case "max_cart_value": return "your cart has reached its limit";
    case "unavailable":
    case "product_not_found": return "no longer sold";
    case "requires_auth": return "sign in to buy it";
    case "currency_mismatch": return "priced in another currency";
    case "incompatible": return "can't be in one cart with an item you have";
    case "variant_required": return "choose an option first";
    default: return "";
  }
}
