"use client";

import Link from "next/link";
import { ShoppingCart } from "lucide-react";
import { useCartStore } from "@/store/cart.store";

export function CartBadge({ initialCount }: { initialCount: number }) {
  const count = useCartStore((s) => (s.hydrated ? s.cart.itemCount : initialCount));
  // "saving" while a change is on its way to the API (a test hook, and a cue for assistive tech).
  const saving = useCartStore((s) => s.pending.length > 0);
  return (
    <Link
      href="/cart"
      className="relative inline-flex items-center gap-2 rounded-md px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
    >
      <ShoppingCart aria-hidden="true" className="size-5" />
      <span className="sr-only sm:not-sr-only">Cart</span>
      <span className="sr-only">, {count} {count === 1 ? "item" : "items"}</span>
      <span
        data-testid="cart-badge"
        data-state={saving ? "saving" : "saved"}
        aria-hidden="true"
        className="inline-flex min-w-6 items-center justify-center rounded-full bg-indigo-700 px-1.5 text-xs font-semibold text-white"
      >
        {count}
      </span>
    </Link>
  );
}
