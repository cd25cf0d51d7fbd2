"use client";

import { useCartStore } from "@/store/cart.store";
import type { CartItem } from "@/lib/api/types";
import { EditItemQuantityButton } from "./edit-item-quantity-button";
import { ItemQuantityInput } from "./item-quantity-input";

/** A line's stepper: −, the typed quantity, +. Every way in ends in one "update" change. */
export function EditItemQuantity({ item, pending }: { item: CartItem; pending: boolean }) {
  const change = useCartStore((s) => s.change);
  const max = item.maxQuantity ?? 99;
  const setQuantity = (quantity: number) => {
    if (quantity !== item.quantity) void change({ kind: "update", itemId: item.id, quantity });
  };
  return (
    <div className="inline-flex items-center rounded-lg border border-slate-300">
      <EditItemQuantityButton item={item} type="minus" disabled={pending} onStep={setQuantity} />
      <ItemQuantityInput item={item} max={max} disabled={pending} onCommit={setQuantity} />
      <EditItemQuantityButton item={item} type="plus" disabled={pending || item.quantity >= max} onStep={setQuantity} />
    </div>
  );
}
