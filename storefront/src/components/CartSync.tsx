"use client";

import { useEffect } from "react";
import { connectCartStore, useCartStore } from "@/store/cart.store";
import type { Cart } from "@/lib/api/types";

/** Puts the server-rendered cart into the store and wires tabs, network and visibility. */
export function CartSync({ cart, signedIn }: { cart: Cart; signedIn: boolean }) {
  useEffect(() => {
    useCartStore.getState().hydrate(cart, { signedIn });
  }, [cart, signedIn]);
  useEffect(() => connectCartStore(), []);
  return null;
}
