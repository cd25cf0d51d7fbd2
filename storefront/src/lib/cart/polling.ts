/**
 * Polling: while a cart page or the cart drawer is on screen, the cart is read again every
 * `intervalMs` with If-None-Match (the cart's version as the API's ETag gives it), so a change made
 * on another device shows within one interval. An unchanged cart is a bodiless 304, which the API
 * answers from the cart's version alone (half the cost of a full read).
 *
 * - Hidden tab: no polling at all (the cart is read once when the tab is shown again), since a
 *   cart nobody sees is worth no reads.
 * - Failing reads: the interval doubles with each failure in a row, up to MAX_BACKOFF_MS, and is
 *   back to `intervalMs` after the first success.
 * - `intervalMs` comes from the server's CART_POLL_INTERVAL_MS (see docs/storefront.md for the
 *   default and what it costs); 0 turns polling off.
 */
export const DEFAULT_POLL_INTERVAL_MS = 10_000;
export const MIN_POLL_INTERVAL_MS = 1_000;
export const MAX_BACKOFF_MS = 5 * 60_000;

export type PollOutcome = "ok" | "failed";

/** CART_POLL_INTERVAL_MS as the server's environment holds it: unset or unreadable → the default,
 * 0 → off, anything else at least MIN_POLL_INTERVAL_MS. */
export function pollIntervalFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_POLL_INTERVAL_MS;
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0) return DEFAULT_POLL_INTERVAL_MS;
  return ms === 0 ? 0 : Math.max(MIN_POLL_INTERVAL_MS, Math.floor(ms));
}

/** Polls with `poll` while the document is visible; returns the stop. */
export function startPolling(intervalMs: number, poll: () => Promise<PollOutcome>): () => void {
  if (!intervalMs) return () => undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let stopped = false;

  const schedule = () => {
    clearTimeout(timer);
    if (stopped || document.visibilityState !== "visible") return;
    timer = setTimeout(tick, Math.min(MAX_BACKOFF_MS, intervalMs * 2 ** failures));
  };
  const tick = async () => {
    const outcome = await poll().catch((): PollOutcome => "failed");
    failures = outcome === "ok" ? 0 : failures + 1;
    schedule();
  };
  document.addEventListener("visibilitychange", schedule);
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", schedule);
  };
}
