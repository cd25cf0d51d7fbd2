/**
 * The journal: nothing is lost by leaving the page. Every change is written to localStorage, with
 * its Idempotency-Key, BEFORE it is sent, and forgotten only once the API confirmed it or refused
 * it for good. A page closed, reloaded or left mid-request leaves its entries behind, and the next
 * page of the shop (any page: the store is wired from the root layout) sends them again with the
 * same keys. The API stores a keyed change's response in the change's own transaction, so a replay
 * of a change that did reach it is answered from that record and applies nothing: exactly once.
 *
 * One key per entry (`cart.journal.<id>`): two tabs writing at once never overwrite each other's
 * entries, as they would in one shared array.
 *
 * Which tab replays what: each page holds a Web Lock named after itself for its whole life
 * (released by the browser when the page goes away). Another page waits for that lock to adopt the
 * entries left behind, so a live tab's changes in flight are not sent again by another tab, and
 * pages loading together take turns adopting a closed page's entries. That is an economy, not the
 * guarantee: localStorage is not transactional across tabs (a write reaches another tab's copy a
 * moment later, and browsers without Web Locks adopt whatever they find), so two pages can still
 * both replay one entry. The key makes that harmless: same key, same request, applied once. The one
 * refusal that changes a request, a stock clamp, takes a key derived from the entry's, so both
 * pages send the same clamped request under the same key too. (A page kept in a back-forward
 * cache still holds its lock; Chromium does not cache pages holding locks, and elsewhere its
 * entries wait until the page is shown again, where it sends them itself, or evicted.)
 *
 * Entries are only replayed for the shopper who made them (`owner`, a one-way tag of the guest
 * token or the signed-in user computed on the server) and at most 23 hours later: the API keeps a
 * key 24 hours, after which a replay would be a new change.
 */
import type { Intent, LineRef } from "./optimistic";

export interface Entry {
  id: string;
  /** The Idempotency-Key of the request as it is now (a clamp that changes the body takes a new one). */
  key: string;
  intent: Intent;
  /** The line a quantity change or removal touches, by product: line ids can be placeholders. */
  line: LineRef | null;
  /** That line's quantity the change was made against (null: nothing to check, e.g. an add). */
  base: number | null;
  /** The cart version sent with the key; null: never sent, so it cannot have been applied. */
  ifMatch: number | null;
  /** Made while offline: sent on reconnect, checked against the cart as it then is. */
  offline: boolean;
  owner: string;
  tab: string;
  at: number;
  seq: number;
}

const PREFIX = "cart.journal.";
const LEGACY_QUEUE = "cart.offlineQueue"; // the offline queue of earlier releases
export const MAX_AGE_MS = 23 * 3600 * 1000;
export const TAB = typeof crypto !== "undefined" && "randomUUID" in crypto ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;

let seq = 0;
const lockName = (tab: string) => `cart.tab.${tab}`;

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.localStorage;
  } catch {
    return null; // storage disabled: changes still work, they just do not outlive the page
  }
}

export function newEntry(fields: Pick<Entry, "key" | "intent" | "line" | "base" | "offline" | "owner">): Entry {
  return { ...fields, id: crypto.randomUUID(), ifMatch: null, tab: TAB, at: Date.now(), seq: seq++ };
}

export function record(entry: Entry): void {
  try {
    storage()?.setItem(PREFIX + entry.id, JSON.stringify(entry));
  } catch {
    // quota: the change is sent anyway, it only loses its protection against leaving the page
  }
}

export function forget(id: string): void {
  storage()?.removeItem(PREFIX + id);
}

/** Every entry in the journal, oldest first; expired ones are dropped on the way. */
export function entries(): Entry[] {
  const store = storage();
  if (!store) return [];
  const found: Entry[] = [];
  for (let i = 0; i < store.length; i++) {
    const name = store.key(i);
    if (!name?.startsWith(PREFIX)) continue;
    try {
      found.push(JSON.parse(store.getItem(name) ?? "") as Entry);
    } catch {
      // not ours to read: left alone
    }
  }
  const now = Date.now();
  found.filter((e) => now - e.at > MAX_AGE_MS).forEach((e) => forget(e.id));
  return found.filter((e) => now - e.at <= MAX_AGE_MS).sort((a, b) => a.at - b.at || a.seq - b.seq);
}

/** An entry made before the first guest token existed ("g:") belongs to whichever guest this is:
 * the token it created may never have reached the browser. */
export const ownerMatches = (entryOwner: string, owner: string) =>
  entryOwner === owner || (entryOwner === "g:" && owner.startsWith("g:"));

let holding = false;

/** This page's own lock, held until the page goes away. */
export function holdTab(): void {
  if (holding || typeof navigator === "undefined" || !navigator.locks) return;
  holding = true;
  void navigator.locks.request(lockName(TAB), () => new Promise<void>(() => undefined));
}

const awaited = new Set<string>();

/** Hands `adopt` the entries of pages that are gone (at once for those already gone, later for a
 * live tab's leftovers once it closes), now owned by this page. `accept` says which are this
 * shopper's. */
export function adoptOrphans(accept: (entry: Entry) => boolean, adopt: (entries: Entry[]) => void): void {
  migrateLegacyQueue();
  const tabs = new Set(entries().filter((e) => e.tab !== TAB && accept(e)).map((e) => e.tab));
  const take = (tab: string) => {
    const taken = entries()
      .filter((e) => e.tab === tab && accept(e))
      .map((e) => ({ ...e, tab: TAB }));
    taken.forEach(record);
    if (taken.length) adopt(taken);
  };
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  for (const tab of tabs) {
    if (!locks) take(tab);
    else if (!awaited.has(tab)) {
      awaited.add(tab);
      void locks.request(lockName(tab), async () => {
        awaited.delete(tab);
        take(tab);
      });
    }
  }
}

/** What an earlier release queued offline (bare intents), carried over once as offline entries. */
function migrateLegacyQueue(): void {
  const store = storage();
  const legacy = store?.getItem(LEGACY_QUEUE);
  if (!store || !legacy) return;
  store.removeItem(LEGACY_QUEUE);
  try {
    for (const intent of JSON.parse(legacy) as Intent[]) {
      record({ ...newEntry({ key: crypto.randomUUID(), intent, line: null, base: null, offline: true, owner: "g:" }), tab: "legacy" });
    }
  } catch {
    // unreadable: nothing to carry over
  }
}
