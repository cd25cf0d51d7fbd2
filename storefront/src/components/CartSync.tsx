"use client";

import { useEffect } from "react";
import { connectCartStore, useCartStore } from "@/store/cart.store";
import type { Cart } from "@/lib/api/types";

/** Puts the server-rendered cart into the store and wires tabs, network, visibility, the journal's
 * replays and the polling interval (`CART_POLL_INTERVAL_MS`, read by the layout on the server). */
export function CartSync({ cart, signedIn, owner, pollIntervalMs }: { cart: Cart; signedIn: boolean; owner?: string; pollIntervalMs?: number }) {
  useEffect(() => {
    useCartStore.getState().hydrate(cart, { signedIn, owner });
    useCartStore.getState().adopt(); // signed in again (same document): that shopper's changes left behind
  }, [cart, signedIn, owner]);
  useEffect(() => connectCartStore({ pollIntervalMs }), [pollIntervalMs]);
  return null;
}
