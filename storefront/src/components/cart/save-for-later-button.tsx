"use client";

import { Bookmark } from "lucide-react";
import { useCartStore } from "@/store/cart.store";
import type { CartItem } from "@/lib/api/types";

export function SaveForLaterButton({ item, pending }: { item: CartItem; pending: boolean }) {
  const change = useCartStore((s) => s.change);
  return (
    <button
      type="button"
      data-testid="line-save"
      disabled={pending}
      onClick={() => void change({ kind: "save", itemId: item.id })}
      className="inline-flex items-center gap-1 text-sm font-medium text-slate-700 hover:text-indigo-800"
    >
      <Bookmark aria-hidden="true" className="size-4" /> Save for later
    </button>
  );
}
