/**
 * The change pipeline: what happens to a change from the click to the API's answer. It is
 * recorded in the journal, shown at once, held while its quantity burst lasts, then sent in line
 * (one change at a time, in order) until the API confirms or refuses it; offline it waits, and a
 * set or removal that waited is checked against its line first. Each step is one of this folder's
 * modules; this one only runs them in order, on the store's state (`src/store/cart.store.ts`).
 */
import * as actions from "@/lib/actions/cart";
import { discountMessage, problemMessage } from "@/lib/format";
import { endSessionOn } from "@/lib/session";
import type { Cart, SyncConflict } from "@/lib/api/types";
import { Bursts } from "./coalesce";
import * as journal from "./journal";
import { checkLine, goal, keepMine, withConflict, type LineConflict } from "./offline";
import { findLine, refOf, sameLine, type Intent } from "./optimistic";
import { clamp, lineKey, reapply } from "./refusals";
import { send } from "./requests";
import { newKey, withRetries } from "./retries";

/** A journal entry this page is carrying: waiting for its burst to end, on its way (or in line
 * for it), or queued until the connection is back. */
export interface Tracked {
  entry: journal.Entry;
  state: "waiting" | "sending" | "queued";
  /** Applied to the cart shown (not for a replay that may already be in the server's cart). */
  shown: boolean;
  /** Compare its line with the server's before sending (offline, replayed, after a conflict). */
  check: boolean;
}

/** The part of the store's state the pipeline reads and writes. */
export interface PipelineState {
  confirmed: Cart;
  cart: Cart;
  entries: Tracked[];
  owner: string;
  offline: boolean;
  choices: LineConflict[];
  conflicts: SyncConflict[];
  lineNotes: Record<string, string>;
  discountError: string | null;
}

export interface Host {
  get: () => PipelineState;
  set: (change: Partial<PipelineState> | ((state: PipelineState) => Partial<PipelineState>)) => void;
  /** The entries as they now are (the store derives the cart shown from them). */
  put: (entries: Tracked[]) => void;
  /** The server's cart, taken by this tab and broadcast to the others. */
  confirm: (cart: Cart) => void;
  toast: (message: string, tone?: "error" | "info") => void;
}

const OFFLINE_KINDS = new Set<Intent["kind"]>(["add", "update", "remove", "clear"]);

export const isOffline = (state: { offline: boolean }) =>
  state.offline || (typeof navigator !== "undefined" && !navigator.onLine);

export function createPipeline({ get, set, put, confirm, toast }: Host) {
  let chain: Promise<unknown> = Promise.resolve();
  const bursts = new Bursts((id) => enqueue(id));
  const waiters = new Map<string, { promise: Promise<boolean>; resolve: (ok: boolean) => void }>();

  /** Resolves once entry `id` is confirmed (true) or refused (false). */
  const outcome = (id: string): Promise<boolean> => {
    let waiter = waiters.get(id);
    if (!waiter) {
      let resolve: (ok: boolean) => void = () => undefined;
      const promise = new Promise<boolean>((r) => (resolve = r));
      waiter = { promise, resolve };
      waiters.set(id, waiter);
    }
    return waiter.promise;
  };
  const settle = (id: string, ok: boolean) => {
    waiters.get(id)?.resolve(ok);
    waiters.delete(id);
  };

  const tracked = (id: string) => get().entries.find((t) => t.entry.id === id);
  const update = (id: string, patch: Partial<Tracked>) => put(get().entries.map((t) => (t.entry.id === id ? { ...t, ...patch } : t)));
  /** The entry as it now is, in the journal first. */
  const save = (entry: journal.Entry) => {
    journal.record(entry);
    update(entry.id, { entry });
  };
  /** Done with entry `id`: out of the view, the journal and the waiters. */
  const finish = (id: string, ok: boolean): boolean => {
    journal.forget(id);
    put(get().entries.filter((t) => t.entry.id !== id));
    settle(id, ok);
    return ok;
  };

  /** A line another device changed meanwhile: the entry stays in the journal (a later page asks
   * again) and waits for the shopper's choice. */
  const toConflict = (id: string, entry: journal.Entry, theirs: number): boolean => {
    const before = get().choices.length;
    set((s) => ({ choices: withConflict(s.choices, entry, theirs) }));
    put(get().entries.filter((t) => t.entry.id !== id));
    settle(id, false);
    if (get().choices.length > before) toast("Your cart was changed on another device: choose what to keep in your cart.", "info");
    return false;
  };

  /** An offline quantity the stock could not hold, told on the cart page as before. */
  const stockNotice = (entry: journal.Entry, asked: number, resolved: number) => {
    if (!entry.line) return;
    const { productId, variantId } = entry.line;
    const notice: SyncConflict = {
      productId,
      variantId,
      clientQuantity: asked,
      serverQuantity: entry.base ?? 0,
      resolved,
      reason: "insufficient_stock",
    };
    set((s) => ({ conflicts: [...s.conflicts.filter((c) => !sameLine(c, notice)), notice] }));
  };

  /** One entry, sent until the API confirms or refuses it. */
  const run = async (id: string): Promise<boolean> => {
    let rounds = 0;
    let reapplied = false;
    let clamped = false;
    for (;;) {
      const current = tracked(id);
      if (!current) return false;
      const confirmed = get().confirmed;
      let { entry } = current;
      let intent = entry.intent;
      if (current.check) {
        const check = checkLine(entry, confirmed);
        if (check.kind === "done") return finish(id, true);
        if (check.kind === "conflict") return toConflict(id, entry, check.theirs);
        intent = check.intent;
      } else if (entry.line && goal(intent) !== null) {
        // Sent now: made against the line as the server last answered it.
        const line = findLine(confirmed, entry.line);
        if (line) {
          entry = { ...entry, base: line.quantity };
          intent = { ...intent, itemId: line.id } as Intent;
        }
      }
      entry = { ...entry, intent, ifMatch: confirmed.version };
      save(entry); // recorded as sent before it is sent
      const result = await withRetries((key) => send(intent, confirmed.version, key), entry.key);
      if (result.ok) {
        confirm(result.data);
        if (intent.kind === "applyCode") set({ discountError: null });
        if (clamped && intent.kind === "add" && !lineKey(confirmed, intent)) {
          const line = findLine(result.data, intent);
          if (line) set((s) => ({ lineNotes: { ...s.lineNotes, [line.id]: `Only ${line.quantity} left` } }));
        }
        return finish(id, true);
      }
      const { problem } = result;
      if (endSessionOn(problem)) {
        // Off to /auth, which brings the shopper back: the change stays in the journal, and the
        // page they come back to (signed in again, the same owner) sends it.
        settle(id, false);
        return false;
      }
      if (problem.code === "version_conflict" && problem.cart && rounds++ < 3) {
        // Nothing was applied (and the key not used up): try again on the server's cart.
        confirm(problem.cart);
        if (entry.line && goal(intent) !== null) {
          update(id, { check: true }); // a set or removal: only if its line is as the shopper knew it
          continue;
        }
        const again = reapplied ? null : reapply(intent, problem.cart);
        reapplied = true;
        if (!again) return finish(id, false);
        save({ ...entry, intent: again });
        continue;
      }
      if (problem.code === "insufficient_stock" && !clamped) {
        clamped = true;
        const smaller = clamp(intent, problem, confirmed);
        if (smaller) {
          const note = `Only ${smaller.left} left`;
          const key = lineKey(confirmed, intent);
          if (key) set((s) => ({ lineNotes: { ...s.lineNotes, [key]: note } }));
          if (entry.offline && smaller.intent.kind === "update") stockNotice(entry, goal(intent) ?? 0, smaller.intent.quantity);
          // Another request, so another key; derived from the first, so a second page replaying the
          // same entry (`journal.ts`) sends this same request with this same key.
          save({ ...entry, intent: smaller.intent, key: `${entry.key}.clamped` });
          toast(`${note}: we set the quantity to what's in stock.`, "info");
          continue;
        }
      }
      if (result.retryable && isOffline(get())) {
        // Offline after all: kept, and checked against its line on reconnect (it may have arrived).
        save({ ...entry, offline: true });
        update(id, { state: "queued", check: true });
        settle(id, true);
        return true;
      }
      if (problem.code === "price_changed" && problem.cart) confirm(problem.cart); // the prices as they are now
      finish(id, false);
      if (intent.kind === "applyCode") {
        set({ discountError: discountMessage(problem as Parameters<typeof discountMessage>[0], get().confirmed.currency) });
      } else {
        toast(problemMessage(problem as Parameters<typeof problemMessage>[0]));
      }
      return false;
    }
  };

  const enqueue = (id: string) => {
    update(id, { state: "sending" });
    const done = chain.then(() => run(id).catch(() => finish(id, false)));
    chain = done.catch(() => undefined);
  };

  /** A new change: recorded, shown, then sent (a quantity after its burst; offline, on reconnect). */
  const begin = (intent: Intent, offline: boolean): Promise<boolean> => {
    const item = "itemId" in intent ? get().cart.items.find((i) => i.id === intent.itemId) : undefined;
    const entry = journal.newEntry({
      key: newKey(),
      intent,
      line: item ? refOf(item) : null,
      base: item && goal(intent) !== null ? item.quantity : null,
      offline,
      owner: get().owner,
    });
    journal.record(entry);
    const state = offline ? "queued" : intent.kind === "update" ? "waiting" : "sending";
    put([...get().entries, { entry, state, shown: true, check: offline }]);
    if (offline) return Promise.resolve(true);
    const done = outcome(entry.id);
    if (state === "waiting") bursts.hold(entry.id);
    else enqueue(entry.id);
    return done;
  };

  /** The burst a quantity change joins: its line's last change, if that is a quantity not yet sent. */
  const openBurst = (intent: Intent & { kind: "update" }): Tracked | undefined => {
    const item = get().cart.items.find((i) => i.id === intent.itemId);
    if (!item) return undefined;
    const last = [...get().entries].reverse().find((t) => t.entry.line && sameLine(t.entry.line, item));
    const open = last && (last.state === "waiting" || last.state === "queued") && last.entry.ifMatch === null;
    return open && last.entry.intent.kind === "update" ? last : undefined;
  };

  /** Back online: each waiting change, checked against the cart as it now is. */
  let flushDelay = 1000;
  const flushQueue = async (): Promise<void> => {
    if (!get().entries.some((t) => t.state === "queued")) return;
    const fresh = await actions.getCart().catch(() => null);
    if (fresh && !fresh.ok && endSessionOn(fresh.problem)) return; // the queue stays: signing in again
    if (!fresh?.ok) {
      // "online" came before the store could be reached: again later, less often each time.
      flushDelay = Math.min(60_000, flushDelay * 2);
      if (!isOffline(get())) setTimeout(() => void flushQueue(), flushDelay);
      return;
    }
    flushDelay = 1000;
    confirm(fresh.data);
    for (const t of get().entries.filter((e) => e.state === "queued")) {
      update(t.entry.id, { check: true });
      enqueue(t.entry.id);
    }
  };

  return {
    change(intent: Intent, onRefusedOffline: () => void): Promise<boolean> {
      const offline = isOffline(get());
      if (offline && !OFFLINE_KINDS.has(intent.kind)) {
        onRefusedOffline();
        return Promise.resolve(false);
      }
      if (intent.kind === "update") {
        const open = openBurst(intent);
        if (open) {
          save({ ...open.entry, intent, key: newKey() }); // never sent: a new body, a new key
          if (open.state === "queued") return Promise.resolve(true);
          bursts.hold(open.entry.id);
          return outcome(open.entry.id);
        }
      } else {
        bursts.release().forEach(enqueue); // nothing overtakes a burst of quantity changes
      }
      if (offline && intent.kind === "clear") {
        // Offline, clearing is removing each line the shopper sees, each checked on reconnect.
        get().cart.items.forEach((item) => void begin({ kind: "remove", itemId: item.id }, true));
        return Promise.resolve(true);
      }
      return begin(intent, offline);
    },

    /** Takes over what pages that went away left unconfirmed, and sends it again with its keys. */
    adopt(): void {
      journal.adoptOrphans(
        (e) => journal.ownerMatches(e.owner, get().owner) && !tracked(e.id),
        (adopted) => {
          const offline = isOffline(get());
          const version = get().confirmed.version;
          put([
            ...get().entries,
            ...adopted.map(
              (entry): Tracked => ({
                entry,
                state: offline ? "queued" : "sending",
                // Sent, and the cart has moved on since: it may be in the cart already, so it is not shown twice.
                shown: entry.ifMatch === null || version <= entry.ifMatch,
                check: true,
              }),
            ),
          ]);
          // Checked against the cart this page was rendered with (a version conflict checks again).
          if (!offline) adopted.forEach((e) => enqueue(e.id));
        },
      );
    },

    flushQueue,

    resolveConflict(id: string, choice: "mine" | "theirs"): Intent | null {
      const conflict = get().choices.find((c) => c.id === id);
      if (!conflict) return null;
      conflict.entries.forEach(journal.forget);
      set((s) => ({ choices: s.choices.filter((c) => c !== conflict) }));
      return choice === "mine" ? keepMine(conflict, get().confirmed) : null;
    },
  };
}
