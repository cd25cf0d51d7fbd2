"use client";

import type { Cart } from "@/lib/api/types";
import { AppliedCodes } from "./applied-codes";
import { CartTotals } from "./cart-totals";
import { DiscountForm } from "./discount-form";
import { FreeShippingProgress } from "./free-shipping-progress";

export function CartSummary({ cart, onCheckout }: { cart: Cart; onCheckout: () => void }) {
  return (
    <aside aria-labelledby="summary-heading" className="h-fit rounded-xl border border-slate-200 bg-slate-50 p-5">
      <h2 id="summary-heading" className="mb-4 text-lg font-semibold">
        Order summary
      </h2>
      <FreeShippingProgress cart={cart} />
      <DiscountForm />
      <AppliedCodes codes={cart.discountCodes ?? []} />
      <CartTotals cart={cart} />
      <button
        type="button"
        data-testid="checkout-button"
        onClick={onCheckout}
        className="mt-5 w-full rounded-lg bg-indigo-700 px-6 py-3 font-semibold text-white hover:bg-indigo-800"
      >
        Checkout
      </button>
    </aside>
  );
}
