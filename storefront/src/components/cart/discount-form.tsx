"use client";

import { useState } from "react";
import { useCartStore } from "@/store/cart.store";

/** Enter a code; it clears once the API accepted it, and the store's error (a sentence) shows under it. */
export function DiscountForm() {
  const change = useCartStore((s) => s.change);
  const discountError = useCartStore((s) => s.discountError);
  const [code, setCode] = useState("");
  return (
    <form
      className="mb-4"
      onSubmit={(e) => {
        e.preventDefault();
        const value = code.trim();
        if (!value) return;
        void change({ kind: "applyCode", code: value }).then((ok) => ok && setCode(""));
      }}
    >
      <label htmlFor="discount-code" className="mb-1 block text-sm font-medium">
        Discount code
      </label>
      <div className="flex gap-2">
        <input
          id="discount-code"
          data-testid="discount-input"
          value={code}
          onChange={(e) => setCode(e.target.value)}
          autoComplete="off"
          aria-describedby={discountError ? "discount-error" : undefined}
          className="min-w-0 flex-1 rounded-lg border border-slate-300 bg-white px-3 py-2 uppercase"
        />
        <button type="submit" data-testid="discount-apply" className="rounded-lg bg-slate-900 px-4 py-2 text-sm font-semibold text-white hover:bg-slate-700">
          Apply
        </button>
      </div>
      {discountError && (
        <p id="discount-error" data-testid="discount-error" role="alert" className="mt-1 text-sm text-red-800">
          {discountError}
        </p>
      )}
    </form>
  );
}
