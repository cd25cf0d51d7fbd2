/**
 * Tab sync: every cart the API answers in one tab reaches the shop's other tabs in this browser at
 * once (BroadcastChannel; the `storage` event where it is missing), so two tabs never show two carts.
 */
import type { Cart } from "@/lib/api/types";

const CHANNEL = "cart";
const BROADCAST_KEY = "cart.broadcast";
let channel: BroadcastChannel | null = null;

export function broadcastCart(cart: Cart): void {
  if (typeof window === "undefined") return;
  if (channel) channel.postMessage({ type: "cart", cart });
  else window.localStorage.setItem(BROADCAST_KEY, JSON.stringify({ cart, at: Date.now() }));
}

/** Calls `onCart` with each cart another tab broadcasts; returns the unsubscribe. */
export function listenForCarts(onCart: (cart: Cart) => void): () => void {
  if ("BroadcastChannel" in window) {
    channel = new BroadcastChannel(CHANNEL);
    channel.onmessage = (event: MessageEvent<{ type: string; cart: Cart }>) => {
      if (event.data?.type === "cart") onCart(event.data.cart);
    };
  }
  const onStorage = (event: StorageEvent) => {
    if (event.key === BROADCAST_KEY && event.newValue) onCart((JSON.parse(event.newValue) as { cart: Cart }).cart);
  };
  window.addEventListener("storage", onStorage);
  return () => {
    channel?.close();
    channel = null;
    window.removeEventListener("storage", onStorage);
  };
}
