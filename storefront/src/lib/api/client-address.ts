import "server-only";
import { headers } from "next/headers";

/**
 * The storefront as the API's trusted forwarder. Its server calls the API for every shopper from
 * one address, so the API would count every new guest cart against that one address (its
 * `guest-carts` bucket: 50 an hour). With `CART_FORWARDER_KEY` set (the API's forwarder key: the
 * stack's `ForwarderKeySecretArn`, or what `make dev` configures), every call carries the key as
 * `X-Cart-Forwarder-Key` and the shopper's own address as `X-Cart-Client-Address`.
 *
 * Which address is the shopper's: the one the storefront's own hosting proxy saw connect, as it
 * appended it to `CLIENT_ADDRESS_HEADER` (default `x-forwarded-for`). Every proxy on the way appends
 * the address it saw, so the list reads "what the client claimed, …, what each proxy saw", and
 * only the entries added by proxies we run can be believed: the leftmost entry is whatever the
 * client sent (anyone can send `X-Forwarded-For: 1.2.3.4` and get a fresh bucket per request).
 * `TRUSTED_PROXY_HOPS` (default 1) is how many trusted proxies append to the header: the address is
 * the entry that many places from the right (1: the rightmost, added by the one proxy in front of
 * the storefront; 2 behind a CDN and a load balancer that both append). With a header that the
 * proxy sets rather than appends to (`x-real-ip`, a CDN's client-IP header), keep 1. Without a
 * proxy (`make dev`), Next.js sets `x-forwarded-for` to the connection's address when the request
 * has none. When the header holds fewer entries than the hops, no address is sent and the API
 * counts the storefront's own.
 */

export const FORWARDER_KEY_HEADER = "X-Cart-Forwarder-Key";
export const CLIENT_ADDRESS_HEADER = "X-Cart-Client-Address";

function proxyHops(): number {
  const raw = process.env.TRUSTED_PROXY_HOPS?.trim() || "1";
  const hops = Number(raw);
  if (!Number.isInteger(hops) || hops < 1) {
    throw new Error(`TRUSTED_PROXY_HOPS must be a whole number of proxies, 1 or more (not ${JSON.stringify(raw)})`);
  }
  return hops;
}

/** An entry as some proxies write it (`[2001:db8::1]:443`, `198.51.100.7:443`) without its port. */
function bare(entry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed?.[1]) return bracketed[1];
  const ipv4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry);
  return ipv4WithPort?.[1] ?? entry;
}

/** The entry `hops` places from the right of a comma-separated header value, or null. The API
 * checks that it is an IP address (and ignores it otherwise). */
export function addressAt(value: string | null, hops: number): string | null {
  if (!value) return null;
  const entries = value.split(",").map((entry) => entry.trim());
  const entry = entries[entries.length - hops] ?? "";
  return entry ? bare(entry) : null;
}

/** The forwarder's two headers for this request, or none when no key is configured (or the request
 * carries no address to forward). */
export async function forwardingHeaders(): Promise<Record<string, string>> {
  const key = process.env.CART_FORWARDER_KEY?.trim();
  if (!key) return {};
  const name = process.env.CLIENT_ADDRESS_HEADER?.trim() || "x-forwarded-for";
  const address = addressAt((await headers()).get(name), proxyHops());
  return address ? { [FORWARDER_KEY_HEADER]: key, [CLIENT_ADDRESS_HEADER]: address } : {};
}
