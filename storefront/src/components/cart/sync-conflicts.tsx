"use client";

import { useCartStore } from "@/store/cart.store";
import type { Cart, SyncConflict } from "@/lib/api/types";

const REASONS: Record<string, string> = {
  insufficient_stock: "not enough in stock",
  out_of_stock: "out of stock",
  max_quantity_per_line: "the most one line can hold",
  max_per_customer: "the most one customer may buy",
  unavailable: "no longer sold",
  requires_auth: "sign in to buy it",
  product_not_found: "no longer sold",
};

/** After an offline queue was synced: the lines that did not end as the shopper left them. */
export function SyncConflicts({ conflicts, cart }: { conflicts: SyncConflict[]; cart: Cart }) {
  const dismiss = () => useCartStore.setState({ conflicts: [] });
  return (
    <div role="status" className="mb-4 rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm text-amber-950">
      <p className="mb-2 font-semibold">Some changes you made offline could not be kept as made:</p>
      <ul className="mb-2 list-disc pl-5">
        {conflicts.map((c) => {
          const line = cart.items.find((i) => i.productId === c.productId && i.variantId === c.variantId);
          const name = line?.name ?? "An item";
          const now = line?.quantity ?? 0;
          return (
            <li key={`${c.productId}-${c.variantId ?? ""}`} data-testid="sync-conflict">
              {name}: you set {c.clientQuantity}, your cart now holds {now}
              {c.reason ? ` (${REASONS[c.reason] ?? c.reason.replaceAll("_", " ")})` : ""}.
            </li>
          );
        })}
      </ul>
      <button type="button" onClick={dismiss} className="font-medium underline">
        Dismiss
      </button>
    </div>
  );
}
