"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { ShoppingCart } from "lucide-react";
import { useCartStore } from "@/store/cart.store";
import { useCartDrawer } from "./cart/drawer-store";

export function CartBadge({ initialCount }: { initialCount: number }) {
  const count = useCartStore((s) => (s.hydrated ? s.cart.itemCount : initialCount));
  // "saving" while a change is on its way to the API (a test hook, and a cue for assistive tech).
  const saving = useCartStore((s) => s.pending.length > 0);
  const openDrawer = useCartDrawer((s) => s.openDrawer);
  // A real link to /cart (no JavaScript, a middle or modified click, a new tab); a plain click opens the drawer,
  // except on /cart itself.
  const drawer = usePathname() !== "/cart";
  return (
    <Link
      href="/cart"
      data-testid="cart-link"
      aria-haspopup={drawer ? "dialog" : undefined}
      onClick={(e) => {
        if (!drawer || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        openDrawer();
      }}
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
