/**
 * Offline intent: a change that waited (made offline, or left behind by a page that went away) is
 * sent as what the shopper did (add N, set to N, remove), never as a cart to merge, so removals
 * and decreases stick. A set or a removal carries the line's quantity it was made against (its
 * base); before it is sent, the line on the server is compared with that base:
 *
 * - already what the shopper wanted: nothing to send (this change, or the same one elsewhere);
 * - still the base: nobody else touched the line, so the change is sent;
 * - anything else: another device changed the line meanwhile. Neither side is silently undone:
 *   the shopper gets a conflict to resolve, keep mine (send my quantity now) or keep theirs.
 *
 * Adds need no check: "one more" means one more, whatever the line holds now.
 */
import type { Cart } from "@/lib/api/types";
import type { Entry } from "./journal";
import { findLine, type Intent, type LineRef } from "./optimistic";

export type Check = { kind: "send"; intent: Intent } | { kind: "done" } | { kind: "conflict"; theirs: number };

/** A line changed on two devices, waiting for the shopper's choice. */
export interface LineConflict {
  id: string;
  line: LineRef;
  /** What the shopper set (0: removed). */
  mine: number;
  /** What the cart holds now (0: no such line). */
  theirs: number;
  /** The journal entries the choice settles. */
  entries: string[];
}

/** The quantity a set or removal leaves on its line; null for every other change. */
export function goal(intent: Intent): number | null {
  if (intent.kind === "update") return Math.max(0, intent.quantity);
  if (intent.kind === "remove") return 0;
  return null;
}

export function checkLine(entry: Entry, cart: Cart): Check {
  const wanted = goal(entry.intent);
  if (wanted === null || !entry.line) return { kind: "send", intent: entry.intent };
  const server = findLine(cart, entry.line);
  const now = server?.quantity ?? 0;
  if (now === wanted) return { kind: "done" };
  if ((entry.base !== null && now !== entry.base) || !server) return { kind: "conflict", theirs: now };
  return { kind: "send", intent: { ...entry.intent, itemId: server.id } as Intent };
}

/** One conflict per line: a later change to the same line makes "mine" its quantity. */
export function withConflict(conflicts: LineConflict[], entry: Entry, theirs: number): LineConflict[] {
  const line = entry.line!;
  const mine = goal(entry.intent) ?? 0;
  const id = `${line.productId}:${line.variantId ?? ""}`;
  const existing = conflicts.find((c) => c.id === id);
  if (existing) {
    return conflicts.map((c) => (c === existing ? { ...c, mine, theirs, entries: [...c.entries, entry.id] } : c));
  }
  return [...conflicts, { id, line, mine, theirs, entries: [entry.id] }];
}

/** "Keep mine": the change that makes the line hold the shopper's quantity now, if any is needed. */
export function keepMine(conflict: LineConflict, cart: Cart): Intent | null {
  const server = findLine(cart, conflict.line);
  if (conflict.mine === (server?.quantity ?? 0)) return null;
  if (!server) {
    const { productId, variantId, name, slug, imageUrl, unitPrice, attributes } = conflict.line;
    return { kind: "add", productId, variantId, quantity: conflict.mine, preview: { name, slug, imageUrl, unitPrice, attributes } };
  }
  return conflict.mine === 0 ? { kind: "remove", itemId: server.id } : { kind: "update", itemId: server.id, quantity: conflict.mine };
}
