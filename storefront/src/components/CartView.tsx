"use client";

import { useEffect } from "react";
import { useRouter } from "next/navigation";
import { useCartStore } from "@/store/cart.store";
import type { Cart, ValidationIssue } from "@/lib/api/types";
import { CartLine } from "./cart/cart-line";
import { CartSummary } from "./cart/cart-summary";
import { ClearCartButton } from "./cart/clear-cart-button";
import { ConflictChoices } from "./cart/conflict-choices";
import { EmptyCart } from "./cart/empty-cart";
import { PriceChangeNotice } from "./cart/price-change-notice";
import { SavedForLater } from "./cart/saved-for-later";
import { SaveCartAs } from "./cart/save-cart-as";
import { ShareCart } from "./cart/share-cart";
import { SyncConflicts } from "./cart/sync-conflicts";

interface Props {
  initialCart: Cart;
  initialIssues: ValidationIssue[];
  signedIn: boolean;
}

/** The cart page: the server-rendered cart until the store is hydrated with it, then the store's. Each control is its
 * own component under components/cart/. */
export function CartView({ initialCart, initialIssues, signedIn }: Props) {
  const router = useRouter();
  const hydrated = useCartStore((s) => s.hydrated);
  const storeCart = useCartStore((s) => s.cart);
  const cart = hydrated ? storeCart : initialCart;
  const issues = useCartStore((s) => s.issues);

  useEffect(() => {
    useCartStore.getState().hydrate(initialCart, { signedIn, issues: initialIssues });
  }, [initialCart, initialIssues, signedIn]);

  const shownIssues = hydrated ? issues : initialIssues;
  const conflicts = useCartStore((s) => s.conflicts);
  const saved = cart.savedForLater ?? [];

  if (!cart.items.length) {
    return (
      <>
        <h1 className="mb-6 text-2xl font-bold">Your cart</h1>
        <ConflictChoices />
        <EmptyCart />
        <SavedForLater saved={saved} currency={cart.currency} />
      </>
    );
  }

  return (
    <>
      <div className="mb-6 flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-2xl font-bold">Your cart</h1>
        <ClearCartButton />
      </div>
      <div className="grid gap-8 lg:grid-cols-[minmax(0,1fr)_22rem]">
        <section aria-labelledby="lines-heading">
          <h2 id="lines-heading" className="sr-only">
            Items
          </h2>
          {conflicts.length > 0 && <SyncConflicts conflicts={conflicts} cart={cart} />}
          <ConflictChoices />
          <PriceChangeNotice cart={cart} />
          <ul className="divide-y divide-slate-200 border-y border-slate-200">
            {cart.items.map((item) => (
              <CartLine key={item.id} item={item} currency={cart.currency} issue={shownIssues.find((i) => i.itemId === item.id)} />
            ))}
          </ul>
          <div className="mt-4 flex flex-wrap gap-4">
            <SaveCartAs />
            <ShareCart />
          </div>
          <SavedForLater saved={saved} currency={cart.currency} />
        </section>
        <CartSummary cart={cart} onCheckout={() => router.push(signedIn ? "/checkout" : "/auth?next=/checkout")} />
      </div>
    </>
  );
}
