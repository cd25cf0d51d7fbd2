"use client";

import { useCartStore } from "@/store/cart.store";

export function ClearCartButton() {
  const change = useCartStore((s) => s.change);
  return (
    <button
      type="button"
      data-testid="clear-cart"
      onClick={() => void change({ kind: "clear" })}
      className="text-sm font-medium text-slate-700 underline hover:text-red-800"
    >
      Clear cart
    </button>
  );
}
