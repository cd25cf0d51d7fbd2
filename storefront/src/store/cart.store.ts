"use client";

/**
 * The cart as every component sees it: the server's cart (`confirmed`) with the shopper's
 * pending changes applied on top (`cart`), so each change shows at once and rolls back when the
 * API refuses it. Changes reach the API one at a time, in order, each with the cart version the
 * shopper saw (If-Match) and one Idempotency-Key for all its retries.
 *
 * - 503 / network failure: retried at 100, 200, 400 ms with the same key, then rolled back + toast.
 * - 409 version_conflict: the server's cart is taken and the shopper's intent re-applied once.
 * - 409 insufficient_stock: the quantity is clamped to what is left, with "Only N left".
 * - Offline: changes apply locally and queue in localStorage; on reconnect the cart the shopper
 *   sees goes to the API in one `POST /cart/sync`, and its conflicts are shown.
 * - Every other tab gets each new cart at once (BroadcastChannel, `storage` event fallback).
 */
import { create } from "zustand";
import * as actions from "@/lib/actions/cart";
import { discountMessage, problemMessage } from "@/lib/format";
import { endSessionOn } from "@/lib/session";
import { EMPTY_CART, type ActionResult, type Cart, type CartItem, type MergeReport, type Problem, type SyncConflict, type ValidationIssue } from "@/lib/api/types";

export type Intent =
  | {
      kind: "add";
      productId: string;
      variantId: string | null;
      quantity: number;
      // slug and imageUrl: optional, as an intent recorded by an older page may lack them
      preview: { name: string; slug?: string; imageUrl?: string | null; unitPrice: number; attributes: Record<string, string> };
    }
  | { kind: "update"; itemId: string; quantity: number }
  | { kind: "switch"; itemId: string; variantId: string; attributes: Record<string, unknown>; unitPrice: number }
  | { kind: "remove"; itemId: string }
  | { kind: "clear" }
  | { kind: "save"; itemId: string }
  | { kind: "restore"; savedId: string }
  | { kind: "applyCode"; code: string }
  | { kind: "removeCode"; code: string }
  /** The changed lines' current prices accepted, each at the price the shopper was shown. */
  | { kind: "acceptPrices"; items: { itemId: string; unitPrice: number }[] };

interface Pending {
  id: number;
  intent: Intent;
}

export interface Toast {
  id: number;
  message: string;
  tone: "error" | "info";
}

export const RETRY_DELAYS_MS = [100, 200, 400] as const;
const QUEUE_KEY = "cart.offlineQueue";
const BROADCAST_KEY = "cart.broadcast";
const CHANNEL = "cart";
const OFFLINE_KINDS = new Set<Intent["kind"]>(["add", "update", "remove", "clear"]);

interface CartState {
  confirmed: Cart;
  pending: Pending[];
  cart: Cart;
  signedIn: boolean;
  /** False until the page's server-rendered cart reaches the store: until then, show that cart. */
  hydrated: boolean;
  offline: boolean;
  queued: Intent[];
  toasts: Toast[];
  /** Problems tied to one line (stock clamps), shown inline under it. */
  lineNotes: Record<string, string>;
  issues: ValidationIssue[];
  conflicts: SyncConflict[];
  mergeReport: MergeReport | null;
  discountError: string | null;
  hydrate: (cart: Cart, options?: { signedIn?: boolean; issues?: ValidationIssue[] }) => void;
  receive: (cart: Cart) => void;
  refresh: () => Promise<void>;
  change: (intent: Intent) => Promise<boolean>;
  flushQueue: () => Promise<void>;
  setOffline: (offline: boolean) => void;
  toast: (message: string, tone?: Toast["tone"]) => void;
  dismissToast: (id: number) => void;
  setMergeReport: (report: MergeReport | null) => void;
}

let nextId = 1;
let chain: Promise<unknown> = Promise.resolve();
let channel: BroadcastChannel | null = null;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newKey = () => crypto.randomUUID();

// --- the optimistic view ----------------------------------------------------------------------

function withTotals(cart: Cart): Cart {
  const subtotal = cart.items.reduce((sum, item) => sum + item.unitPrice * item.quantity, 0);
  const itemCount = cart.items.reduce((sum, item) => sum + item.quantity, 0);
  const delta = subtotal - cart.subtotal;
  const total = Math.max(0, cart.totals.total + delta);
  return { ...cart, subtotal, itemCount, totals: { ...cart.totals, subtotal, total } };
}

export function applyIntent(cart: Cart, intent: Intent): Cart {
  switch (intent.kind) {
    case "add": {
      const existing = cart.items.find((i) => i.productId === intent.productId && i.variantId === intent.variantId);
      const items = existing
        ? cart.items.map((i) => (i === existing ? { ...i, quantity: i.quantity + intent.quantity, lineTotal: i.unitPrice * (i.quantity + intent.quantity) } : i))
        : [
            ...cart.items,
            {
              id: `pending-${intent.productId}-${intent.variantId ?? ""}`,
              productId: intent.productId,
              variantId: intent.variantId,
              sku: null,
              name: intent.preview.name,
              slug: intent.preview.slug ?? "",
              imageUrl: intent.preview.imageUrl ?? null,
              attributes: intent.preview.attributes,
              quantity: intent.quantity,
              unitPrice: intent.preview.unitPrice,
              priceAtAdd: intent.preview.unitPrice,
              priceChanged: false,
              priceDrop: false,
              lineTotal: intent.preview.unitPrice * intent.quantity,
              available: true,
              maxQuantity: 99,
            } as CartItem,
          ];
      return withTotals({ ...cart, items });
    }
    case "update":
      if (intent.quantity <= 0) return applyIntent(cart, { kind: "remove", itemId: intent.itemId });
      return withTotals({
        ...cart,
        items: cart.items.map((i) => (i.id === intent.itemId ? { ...i, quantity: intent.quantity, lineTotal: i.unitPrice * intent.quantity } : i)),
      });
    case "switch":
      return withTotals({
        ...cart,
        items: cart.items.map((i) =>
          i.id === intent.itemId
            ? { ...i, variantId: intent.variantId, attributes: intent.attributes, unitPrice: intent.unitPrice, lineTotal: intent.unitPrice * i.quantity }
            : i,
        ),
      });
    case "remove":
      return withTotals({ ...cart, items: cart.items.filter((i) => i.id !== intent.itemId) });
    case "clear":
      return withTotals({ ...cart, items: [], discountCodes: [] });
    case "save": {
      const line = cart.items.find((i) => i.id === intent.itemId);
      if (!line) return cart;
      const saved = {
        id: `pending-saved-${line.id}`,
        productId: line.productId,
        variantId: line.variantId,
        sku: line.sku,
        name: line.name,
        slug: line.slug,
        imageUrl: line.imageUrl,
        attributes: line.attributes,
        quantity: line.quantity,
        unitPrice: line.unitPrice,
        priceAtSave: line.unitPrice,
        priceDropped: false,
        backInStock: false,
        available: true,
      };
      return withTotals({ ...cart, items: cart.items.filter((i) => i !== line), savedForLater: [...(cart.savedForLater ?? []), saved] });
    }
    case "restore": {
      const saved = (cart.savedForLater ?? []).find((s) => s.id === intent.savedId);
      if (!saved) return cart;
      const rest = { ...cart, savedForLater: (cart.savedForLater ?? []).filter((s) => s !== saved) };
      return applyIntent(rest, {
        kind: "add",
        productId: saved.productId,
        variantId: saved.variantId,
        quantity: saved.quantity,
        preview: { name: saved.name, slug: saved.slug, imageUrl: saved.imageUrl, unitPrice: saved.unitPrice, attributes: saved.attributes as Record<string, string> },
      });
    }
    case "applyCode":
    case "removeCode":
      return cart; // totals depend on the code's rules: shown when the API answers
    case "acceptPrices": {
      const accepted = new Map(intent.items.map((i) => [i.itemId, i.unitPrice]));
      return {
        ...cart,
        items: cart.items.map((i) =>
          accepted.get(i.id) === i.unitPrice ? { ...i, priceAtAdd: i.unitPrice, priceChanged: false, priceDrop: false } : i,
        ),
      };
    }
  }
}

const view = (confirmed: Cart, pending: Pending[], queued: Intent[]) =>
  [...queued, ...pending.map((p) => p.intent)].reduce(applyIntent, confirmed);

// --- the API calls ------------------------------------------------------------------------------

function send(intent: Intent, ifMatch: number, idempotencyKey: string): Promise<ActionResult<Cart>> {
  const options = { ifMatch, idempotencyKey };
  switch (intent.kind) {
    case "add":
      return actions.addCartItem({ productId: intent.productId, variantId: intent.variantId, quantity: intent.quantity }, options);
    case "update":
      return actions.updateCartItem(intent.itemId, { quantity: intent.quantity }, options);
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

const NETWORK: Problem = {
  type: "/problems/network",
  title: "Network error",
  status: 0,
  detail: "We couldn't reach the store. Check your connection and try again.",
  code: "network_error",
};

/** One change with its retries: the same Idempotency-Key on every attempt. */
export async function withRetries<T>(call: (key: string) => Promise<ActionResult<T>>, key = newKey()): Promise<ActionResult<T>> {
  for (let attempt = 0; ; attempt++) {
    let result: ActionResult<T>;
    try {
      result = await call(key);
    } catch {
      result = { ok: false, status: 0, problem: NETWORK, retryable: true }; // the server action itself failed
    }
    if (result.ok || !result.retryable || attempt >= RETRY_DELAYS_MS.length) return result;
    await sleep(RETRY_DELAYS_MS[attempt]!);
  }
}

/** The shopper's intent once the cart is `cart`: the same change, where it still means something. */
function reapply(intent: Intent, cart: Cart): Intent | null {
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
function clamp(intent: Intent, problem: Problem, cart: Cart): { intent: Intent; left: number } | null {
  const max = problem.maxAvailable;
  if (typeof max !== "number") return null;
  if (intent.kind === "update" && max > 0) return { intent: { ...intent, quantity: max }, left: max };
  if (intent.kind === "add") {
    const line = cart.items.find((i) => i.productId === intent.productId && i.variantId === intent.variantId);
    const room = max - (typeof problem.inCart === "number" ? problem.inCart : line?.quantity ?? 0);
    if (room > 0) return { intent: { ...intent, quantity: room }, left: max };
  }
  return null;
}

function lineKey(cart: Cart, intent: Intent): string | null {
  if (intent.kind === "update") return intent.itemId;
  if (intent.kind === "add") {
    return cart.items.find((i) => i.productId === intent.productId && i.variantId === intent.variantId)?.id ?? null;
  }
  return null;
}

// --- the store ------------------------------------------------------------------------------------

function readQueue(): Intent[] {
  if (typeof window === "undefined") return [];
  try {
    return JSON.parse(window.localStorage.getItem(QUEUE_KEY) ?? "[]") as Intent[];
  } catch {
    return [];
  }
}

function writeQueue(queue: Intent[]): void {
  if (queue.length) window.localStorage.setItem(QUEUE_KEY, JSON.stringify(queue));
  else window.localStorage.removeItem(QUEUE_KEY);
}

function broadcast(cart: Cart): void {
  if (typeof window === "undefined") return;
  if (channel) channel.postMessage({ type: "cart", cart });
  else window.localStorage.setItem(BROADCAST_KEY, JSON.stringify({ cart, at: Date.now() }));
}

const isNewer = (incoming: Cart, current: Cart) => incoming.id !== current.id || incoming.version !== current.version;

export const useCartStore = create<CartState>()((set, get) => {
  /** The server's answer is the truth: every tab takes it. */
  const confirm = (cart: Cart, options: { broadcast?: boolean } = { broadcast: true }) => {
    set((s) => ({ confirmed: cart, cart: view(cart, s.pending, s.queued) }));
    if (options.broadcast) broadcast(cart);
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

  const finish = (id: number) =>
    set((s) => {
      const pending = s.pending.filter((p) => p.id !== id);
      return { pending, cart: view(s.confirmed, pending, s.queued) };
    });

  const run = async (id: number, intent: Intent): Promise<boolean> => {
    let current: Intent | null = intent;
    let reapplied = false;
    let clamped = false;
    while (current) {
      const sending: Intent = current;
      const version = get().confirmed.version;
      const result = await withRetries((key) => send(sending, version, key));
      if (result.ok) {
        confirm(result.data);
        if (sending.kind === "applyCode") set({ discountError: null });
        finish(id);
        return true;
      }
      const { problem } = result;
      if (endSessionOn(problem)) return false; // off to /auth, which brings the shopper back here
      if (problem.code === "version_conflict" && problem.cart && !reapplied) {
        reapplied = true;
        confirm(problem.cart);
        current = reapply(sending, problem.cart);
        continue;
      }
      if (problem.code === "insufficient_stock" && !clamped) {
        clamped = true;
        const smaller = clamp(sending, problem, get().confirmed);
        if (smaller) {
          const note = `Only ${smaller.left} left`;
          const key = lineKey(get().confirmed, sending);
          set((s) => ({
            pending: s.pending.map((p) => (p.id === id ? { ...p, intent: smaller.intent } : p)),
            lineNotes: key ? { ...s.lineNotes, [key]: note } : s.lineNotes,
          }));
          set((s) => ({ cart: view(s.confirmed, s.pending, s.queued) }));
          get().toast(`${note}: we set the quantity to what's in stock.`, "info");
          return runClamped(id, smaller.intent, key);
        }
      }
      if (result.retryable && !navigator.onLine) {
        // Offline after all: keep the change, to be synced on reconnect.
        finish(id);
        queue(sending);
        return true;
      }
      if (problem.code === "price_changed" && problem.cart) confirm(problem.cart); // the prices as they are now
      finish(id);
      if (sending.kind === "applyCode") {
        set({ discountError: discountMessage(problem as Parameters<typeof discountMessage>[0], get().confirmed.currency) });
      } else {
        get().toast(problemMessage(problem as Parameters<typeof problemMessage>[0]));
      }
      return false;
    }
    finish(id);
    return false;
  };

  /** After a clamp: the smaller change, keeping the line's note once it is in the cart. */
  const runClamped = async (id: number, intent: Intent, key: string | null): Promise<boolean> => {
    const result = await withRetries((k) => send(intent, get().confirmed.version, k));
    if (result.ok) {
      confirm(result.data);
      if (!key && intent.kind === "add") {
        const line = result.data.items.find((i) => i.productId === intent.productId && i.variantId === intent.variantId);
        if (line) set((s) => ({ lineNotes: { ...s.lineNotes, [line.id]: `Only ${line.quantity} left` } }));
      }
      finish(id);
      return true;
    }
    finish(id);
    get().toast(problemMessage(result.problem as Parameters<typeof problemMessage>[0]));
    return false;
  };

  const queue = (intent: Intent) => {
    set((s) => {
      const queued = [...s.queued, intent];
      writeQueue(queued);
      return { queued, cart: view(s.confirmed, s.pending, queued) };
    });
  };

  return {
    confirmed: EMPTY_CART,
    pending: [],
    cart: EMPTY_CART,
    signedIn: false,
    hydrated: false,
    offline: false,
    queued: [],
    toasts: [],
    lineNotes: {},
    issues: [],
    conflicts: [],
    mergeReport: null,
    discountError: null,

    hydrate: (cart, options = {}) => {
      const queued = readQueue();
      set((s) => {
        // A page rendered before this tab's latest answer must not take the cart back in time.
        const confirmed = s.hydrated && cart.id === s.confirmed.id && cart.version < s.confirmed.version ? s.confirmed : cart;
        return {
          confirmed,
          hydrated: true,
          queued,
          cart: view(confirmed, s.pending, queued),
          signedIn: options.signedIn ?? s.signedIn,
          issues: options.issues ?? s.issues,
        };
      });
    },

    receive: (cart) => {
      if (isNewer(cart, get().confirmed)) confirm(cart, { broadcast: false });
    },

    refresh: async () => {
      if (get().pending.length || get().queued.length) return;
      const result = await actions.getCart().catch(() => null);
      if (result?.ok && !get().pending.length && isNewer(result.data, get().confirmed)) confirm(result.data, { broadcast: false });
    },

    change: (intent) => {
      if (get().offline || (typeof navigator !== "undefined" && !navigator.onLine)) {
        // Offline, the cart's lines can change (they sync as one `POST /cart/sync`); saved items
        // and discount codes need the API's rules, so they wait for the connection.
        if (!OFFLINE_KINDS.has(intent.kind)) {
          get().toast("You're offline: this needs a connection. Your other changes are kept.", "info");
          return Promise.resolve(false);
        }
        queue(intent);
        return Promise.resolve(true);
      }
      const id = nextId++;
      set((s) => {
        const pending = [...s.pending, { id, intent }];
        return { pending, cart: view(s.confirmed, pending, s.queued) };
      });
      const done = chain.then(() => run(id, intent));
      chain = done.catch(() => undefined);
      return done;
    },

    flushQueue: async () => {
      const queued = get().queued;
      if (!queued.length) return;
      const items = get().cart.items.map((i) => ({ productId: i.productId, variantId: i.variantId, quantity: i.quantity }));
      const task = chain.then(async () => {
        const result = await withRetries((key) => actions.syncCart(items, { idempotencyKey: key }));
        if (!result.ok) {
          if (result.retryable || endSessionOn(result.problem)) return; // the queue stays: unreachable, or signing in again
          get().toast(result.problem.detail);
          writeQueue([]);
          set((s) => ({ queued: [], cart: view(s.confirmed, s.pending, []) }));
          return;
        }
        writeQueue([]);
        set({ queued: [] });
        confirm(result.data.cart);
        // Shown on the cart page: every line that did not end as the shopper left it offline.
        const cart = result.data.cart;
        const conflicts = result.data.conflicts.filter((c) => {
          const line = cart.items.find((i) => i.productId === c.productId && i.variantId === c.variantId);
          return (line?.quantity ?? 0) !== c.clientQuantity;
        });
        set({ conflicts });
        if (conflicts.length) {
          get().toast(`${conflicts.length} ${conflicts.length === 1 ? "change" : "changes"} made offline could not be kept as made.`, "info");
        }
      });
      chain = task.catch(() => undefined);
      await task;
    },

    setOffline: (offline) => set({ offline }),

    toast: (message, tone = "error") => {
      const id = nextId++;
      set((s) => ({ toasts: [...s.toasts, { id, message, tone }] }));
      setTimeout(() => get().dismissToast(id), 8000);
    },

    dismissToast: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),

    setMergeReport: (mergeReport) => set({ mergeReport }),
  };
});

/** Other tabs, the network and the tab's own visibility: wired once, from <CartSync />. */
export function connectCartStore(): () => void {
  const store = useCartStore.getState();
  const onMessage = (cart: Cart) => useCartStore.getState().receive(cart);
  if ("BroadcastChannel" in window) {
    channel = new BroadcastChannel(CHANNEL);
    channel.onmessage = (event: MessageEvent<{ type: string; cart: Cart }>) => {
      if (event.data?.type === "cart") onMessage(event.data.cart);
    };
  }
  const onStorage = (event: StorageEvent) => {
    if (event.key === BROADCAST_KEY && event.newValue) onMessage((JSON.parse(event.newValue) as { cart: Cart }).cart);
  };
  const onOnline = () => {
    useCartStore.getState().setOffline(false);
    void useCartStore.getState().flushQueue();
  };
  const onOffline = () => useCartStore.getState().setOffline(true);
  const onVisible = () => {
    if (document.visibilityState === "visible") void useCartStore.getState().refresh();
  };
  window.addEventListener("storage", onStorage);
  window.addEventListener("online", onOnline);
  window.addEventListener("offline", onOffline);
  document.addEventListener("visibilitychange", onVisible);
  store.setOffline(!navigator.onLine);
  if (navigator.onLine && store.queued.length) void store.flushQueue();
  return () => {
    channel?.close();
    channel = null;
    window.removeEventListener("storage", onStorage);
    window.removeEventListener("online", onOnline);
    window.removeEventListener("offline", onOffline);
    document.removeEventListener("visibilitychange", onVisible);
  };
}
