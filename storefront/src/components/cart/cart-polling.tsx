"use client";

import { useCartPolling } from "@/store/cart.store";

/** Polls the cart while it is on screen (a page that shows the cart renders this). */
export function CartPolling({ active = true }: { active?: boolean }) {
  useCartPolling(active);
  return null;
}
