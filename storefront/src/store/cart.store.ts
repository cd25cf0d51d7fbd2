"use client";

/**
 * The cart as every component sees it: the server's cart (`confirmed`) with the shopper's changes
 * still on their way applied on top (`cart`), so each change shows at once and rolls back when the
 * API refuses it. This file holds the state and wires the engine's concerns together; each concern
 * is one small module under `src/lib/cart/`:
 *
 * - `optimistic.ts`: what a change looks like before the API answers (`applyIntent`);
 * - `journal.ts`: every change recorded with its Idempotency-Key before it is sent, replayed by the
 *   next page when this one goes away first (nothing lost by leaving the page);
 * - `requests.ts` + `retries.ts`: one change at a time, in order, with If-Match and one key for
 *   all its retries (100, 200, 400 ms on a 503 or no answer);
 * - `refusals.ts`: a 409 version_conflict re-applies the change on the server's cart, a 409
 *   insufficient_stock clamps to what is left ("Only N left");
 * - `offline.ts`: offline changes kept as what the shopper did and checked against their line on
 *   reconnect; a line changed meanwhile on another device becomes a conflict to resolve;
 * - `coalesce.ts`: a burst of quantity changes to a line is one PATCH;
 * - `pipeline.ts`: runs those steps in order for each change, on this store's state;
 * - `tab-sync.ts`: every tab gets each new cart at once;
 * - `polling.ts`: the cart page and drawer read the cart again (If-None-Match) while visible.
 */
import { useEffect } from "react";
import { create } from "zustand";
import * as actions from "@/lib/actions/cart";
import { endSessionOn } from "@/lib/session";
import { EMPTY_CART, isUnchanged, type Cart, type MergeReport, type SyncConflict, type ValidationIssue } from "@/lib/api/types";
import { holdTab } from "@/lib/cart/journal";
import type { LineConflict } from "@/lib/cart/offline";
import { applyIntent, viewOf, type Intent } from "@/lib/cart/optimistic";
import { createPipeline, isOffline, type Tracked } from "@/lib/cart/pipeline";
import { DEFAULT_POLL_INTERVAL_MS, startPolling, type PollOutcome } from "@/lib/cart/polling";
import { RETRY_DELAYS_MS, withRetries } from "@/lib/cart/retries";
import { broadcastCart, listenForCarts } from "@/lib/cart/tab-sync";

export { applyIntent, RETRY_DELAYS_MS, withRetries };
export type { Intent, LineConflict, Tracked };

interface Pending {
  id: string;
  intent: Intent;
}

export interface Toast {
  id: number;
  message: string;
  tone: "error" | "info";
}

interface CartState {
  confirmed: Cart;
  /** The changes this page carries (`src/lib/cart/pipeline.ts`), in the order they were made. */
  entries: Tracked[];
  /** The changes on their way (the badge says "saving" while there are any). */
  pending: Pending[];
  /** The changes waiting for the connection. */
  queued: Intent[];
  cart: Cart;
  signedIn: boolean;
  /** Whose changes this page may replay (`src/lib/cart/owner.ts`). */
  owner: string;
  /** False until the page's server-rendered cart reaches the store: until then, show that cart. */
  hydrated: boolean;
  offline: boolean;
  pollIntervalMs: number;
  toasts: Toast[];
  /** Problems tied to one line (stock clamps), shown inline under it. */
  lineNotes: Record<string, string>;
  issues: ValidationIssue[];
  /** Offline changes that could not be kept as made (the stock), shown on the cart page. */
  conflicts: SyncConflict[];
  /** Lines changed on another device while this one's change waited: the shopper chooses. */
  choices: LineConflict[];
  mergeReport: MergeReport | null;
  discountError: string | null;
  hydrate: (cart: Cart, options?: { signedIn?: boolean; issues?: ValidationIssue[]; owner?: string }) => void;
  receive: (cart: Cart) => void;
  refresh: () => Promise<void>;
  poll: () => Promise<PollOutcome>;
  change: (intent: Intent) => Promise<boolean>;
  adopt: () => void;
  flushQueue: () => Promise<void>;
  resolveConflict: (id: string, choice: "mine" | "theirs") => void;
  setOffline: (offline: boolean) => void;
  toast: (message: string, tone?: Toast["tone"]) => void;
  dismissToast: (id: number) => void;
  setMergeReport: (report: MergeReport | null) => void;
}

let nextToast = 1;
const isNewer = (incoming: Cart, current: Cart) => incoming.id !== current.id || incoming.version > current.version;

/** Everything that follows from the server's cart and the changes on their way. */
const derived = (confirmed: Cart, entries: Tracked[]) => ({
  entries,
  pending: entries.filter((t) => t.state !== "queued").map((t) => ({ id: t.entry.id, intent: t.entry.intent })),
  queued: entries.filter((t) => t.state === "queued").map((t) => t.entry.intent),
  cart: viewOf(
    confirmed,
    entries.filter((t) => t.shown).map((t) => t.entry.intent),
  ),
});

export const useCartStore = create<CartState>()((set, get) => {
  /** The server's answer is the truth: every tab takes it (but never an older version of the same
   * cart, as a replayed change's stored response can be). */
  const confirm = (cart: Cart, options: { broadcast?: boolean } = { broadcast: true }) => {
    const current = get().confirmed;
    if (cart.id !== null && cart.id === current.id && cart.version < current.version) return;
    set((s) => ({ confirmed: cart, ...derived(cart, s.entries) }));
    if (options.broadcast) broadcastCart(cart);
    if (get().issues.length) void revalidate();
  };

  /** Issues shown inline come from `POST /cart/validate`: asked again after a change while any show. */
  let validating = false;
  const revalidate = async () => {
    if (validating) return;
    validating = true;
    try {
      const result = await actions.validateCart().catch(() => null);
      if (result?.ok) set({ issues: result.data.issues });
    } finally {
      validating = false;
    }
  };

  const pipeline = createPipeline({
    get,
    set,
    put: (entries) => set((s) => derived(s.confirmed, entries)),
    confirm,
    toast: (message, tone) => get().toast(message, tone),
  });

  return {
    confirmed: EMPTY_CART,
    entries: [],
    pending: [],
    queued: [],
    cart: EMPTY_CART,
    signedIn: false,
    owner: "g:",
    hydrated: false,
    offline: false,
    pollIntervalMs: DEFAULT_POLL_INTERVAL_MS,
    toasts: [],
    lineNotes: {},
    issues: [],
    conflicts: [],
    choices: [],
    mergeReport: null,
    discountError: null,

    hydrate: (cart, options = {}) => {
      set((s) => {
        // A page rendered before this tab's latest answer must not take the cart back in time.
        const confirmed = s.hydrated && cart.id === s.confirmed.id && cart.version < s.confirmed.version ? s.confirmed : cart;
        return {
          confirmed,
          hydrated: true,
          signedIn: options.signedIn ?? s.signedIn,
          owner: options.owner ?? s.owner,
          issues: options.issues ?? s.issues,
          ...derived(confirmed, s.entries),
        };
      });
    },

    receive: (cart) => {
      if (isNewer(cart, get().confirmed)) confirm(cart, { broadcast: false });
    },

    refresh: async () => {
      await get().poll();
    },

    poll: async () => {
      if (get().entries.length || isOffline(get())) return "ok"; // the answers to those will tell
      const result = await actions.getCart({ ifNoneMatch: get().confirmed.version }).catch(() => null);
      if (!result) return "failed";
      if (isUnchanged(result)) return "ok";
      if (!result.ok) return endSessionOn(result.problem) ? "ok" : "failed"; // an ended session: off to /auth
      if (!get().entries.length && isNewer(result.data, get().confirmed)) confirm(result.data, { broadcast: false });
      return "ok";
    },

    change: (intent) =>
      // Offline, the cart's lines can change; saved items and discount codes need the API's rules.
      pipeline.change(intent, () => get().toast("You're offline: this needs a connection. Your other changes are kept.", "info")),

    adopt: pipeline.adopt,

    flushQueue: pipeline.flushQueue,

    resolveConflict: (id, choice) => {
      const intent = pipeline.resolveConflict(id, choice);
      if (intent) void get().change(intent);
    },

    setOffline: (offline) => set({ offline }),

    toast: (message, tone = "error") => {
      const id = nextToast++;
      set((s) => ({ toasts: [...s.toasts, { id, message, tone }] }));
      setTimeout(() => get().dismissToast(id), 8000);
    },

    dismissToast: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),

    setMergeReport: (mergeReport) => set({ mergeReport }),
  };
});

/** Other tabs, the network, the tab's own visibility and what earlier pages left unconfirmed:
 * wired once, from <CartSync />. */
export function connectCartStore(options: { pollIntervalMs?: number } = {}): () => void {
  const store = () => useCartStore.getState();
  if (options.pollIntervalMs !== undefined) useCartStore.setState({ pollIntervalMs: options.pollIntervalMs });
  const unlisten = listenForCarts((cart) => store().receive(cart));
  const onOnline = () => {
    store().setOffline(false);
    store().adopt();
    void store().flushQueue();
  };
  const onOffline = () => store().setOffline(true);
  const onVisible = () => {
    if (document.visibilityState !== "visible") return;
    store().adopt();
    void store().refresh();
  };
  window.addEventListener("online", onOnline);
  window.addEventListener("offline", onOffline);
  document.addEventListener("visibilitychange", onVisible);
  holdTab();
  store().setOffline(!navigator.onLine);
  store().adopt(); // what pages that went away left unconfirmed
  return () => {
    unlisten();
    window.removeEventListener("online", onOnline);
    window.removeEventListener("offline", onOffline);
    document.removeEventListener("visibilitychange", onVisible);
  };
}

/** Reads the cart again every `pollIntervalMs` while `active` (the cart page, the open drawer) and
 * the tab is visible, so changes made on other devices show (`src/lib/cart/polling.ts`). */
export function useCartPolling(active: boolean): void {
  const interval = useCartStore((s) => s.pollIntervalMs);
  const hydrated = useCartStore((s) => s.hydrated);
  useEffect(() => {
    if (!active || !hydrated) return;
    return startPolling(interval, () => useCartStore.getState().poll());
  }, [active, hydrated, interval]);
}
