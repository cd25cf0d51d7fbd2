"use client";

import { useEffect } from "react";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { CloseButton, Dialog, DialogBackdrop, DialogPanel, DialogTitle } from "@headlessui/react";
import { ShoppingBag, X } from "lucide-react";
import { useCartPolling, useCartStore } from "@/store/cart.store";
import { CartLine } from "./cart-line";
import { CartTotals } from "./cart-totals";
import { useCartDrawer } from "./drawer-store";

/** The slide-in cart (vercel/commerce's modal.tsx): every line with its controls, the totals, and the way on to
 * /cart or checkout. Headless UI's Dialog does the accessible part: the focus trap, Esc and a click outside to
 * close, focus back to what opened it, the page behind inert and unscrollable. A link followed inside closes it. */
export function CartDrawer() {
  const open = useCartDrawer((s) => s.open);
  const close = useCartDrawer((s) => s.closeDrawer);
  const setToastSlot = useCartDrawer((s) => s.setToastSlot);
  const pathname = usePathname();
  useEffect(() => close(), [pathname, close]);
  useCartPolling(open && pathname !== "/cart"); // other devices' changes while it is open
  // /cart shows all of this itself (the badge there is a plain link): never two of each line.
  if (pathname === "/cart") return null;
  return (
    <Dialog open={open} onClose={close} className="relative z-40">
      <DialogBackdrop transition className="fixed inset-0 bg-slate-900/40 transition-opacity duration-200 ease-out data-closed:opacity-0 motion-reduce:transition-none" />
      <div className="fixed inset-0 flex justify-end">
        <DialogPanel
          transition
          data-testid="cart-drawer"
          onClickCapture={(e) => {
            if ((e.target as Element).closest("a[href]")) close();
          }}
          className="flex h-full w-full max-w-[calc(100vw-3rem)] flex-col bg-white shadow-xl transition-transform duration-200 ease-out data-closed:translate-x-full motion-reduce:transition-none sm:max-w-md"
        >
          <div className="flex items-center justify-between border-b border-slate-200 px-4 py-3">
            <DialogTitle className="text-lg font-semibold">Your cart</DialogTitle>
            <CloseButton autoFocus data-testid="cart-drawer-close" aria-label="Close cart" className="rounded-md p-2 text-slate-700 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-600">
              <X aria-hidden="true" className="size-5" />
            </CloseButton>
          </div>
          <DrawerContents />
          <div ref={setToastSlot} />
        </DialogPanel>
      </div>
    </Dialog>
  );
}

function DrawerContents() {
  const cart = useCartStore((s) => s.cart);
  const issues = useCartStore((s) => s.issues);
  const signedIn = useCartStore((s) => s.signedIn);
  if (!cart.items.length) {
    return (
      <div data-testid="drawer-empty" className="flex flex-1 flex-col items-center justify-center gap-3 p-6 text-center">
        <ShoppingBag aria-hidden="true" className="size-10 text-slate-400" />
        <p className="text-lg">Your cart is empty.</p>
        <CloseButton className="font-semibold text-indigo-700 underline">Continue shopping</CloseButton>
      </div>
    );
  }
  return (
    <>
      <ul aria-label="Items" className="flex-1 divide-y divide-slate-200 overflow-y-auto px-4">
        {cart.items.map((item) => (
          <CartLine key={item.id} item={item} currency={cart.currency} issue={issues.find((i) => i.itemId === item.id)} />
        ))}
      </ul>
      <div className="border-t border-slate-200 bg-slate-50 px-4 py-4">
        <CartTotals cart={cart} testid="drawer" className="space-y-1" />
        <div className="mt-4 grid grid-cols-2 gap-2">
          <Link href="/cart" data-testid="drawer-view-cart" className="rounded-lg border border-slate-300 bg-white px-4 py-2.5 text-center font-semibold hover:bg-slate-100">
            View cart
          </Link>
          <Link
            href={signedIn ? "/checkout" : "/auth?next=/checkout"}
            data-testid="drawer-checkout"
            className="rounded-lg bg-indigo-700 px-4 py-2.5 text-center font-semibold text-white hover:bg-indigo-800"
          >
            Checkout
          </Link>
        </div>
      </div>
    </>
  );
}
