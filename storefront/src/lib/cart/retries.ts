/**
 * Retries: a change whose answer is a 503, a 502/504 or no answer at all is sent again at 100, 200
 * and 400 ms with the SAME Idempotency-Key, so the API applies it at most once however many of the
 * attempts reached it (its stored response answers the others).
 */
import type { ActionResult, Problem } from "@/lib/api/types";

export const RETRY_DELAYS_MS = [100, 200, 400] as const;

export const NETWORK: Problem = {
  type: "/problems/network",
  title: "Network error",
  status: 0,
  detail: "We couldn't reach the store. Check your connection and try again.",
  code: "network_error",
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const newKey = () => crypto.randomUUID();

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
