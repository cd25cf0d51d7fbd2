"use client";

import { Trash2 } from "lucide-react";
import { useCartStore } from "@/store/cart.store";
import type { CartItem } from "@/lib/api/types";

export function DeleteItemButton({ item, pending }: { item: CartItem; pending: boolean }) {
  const change = useCartStore((s) => s.change);
  return (
    <button
      type="button"
      data-testid="line-remove"
      disabled={pending}
      onClick={() => void change({ kind: "remove", itemId: item.id })}
      className="inline-flex items-center gap-1 text-sm font-medium text-slate-700 hover:text-red-800"
    >
      <Trash2 aria-hidden="true" className="size-4" /> Remove
    </button>
  );
}
