"use client";

import { useCartStore } from "@/store/cart.store";
import type { Cart } from "@/lib/api/types";
import { AcceptPricesButton, changedLines, shownPrices } from "./price-changes";

/** Above the lines while any line's price changed since it was added: the total already uses the new
 * prices, and one control accepts them all. Accepting is written on the cart (`POST
 * /cart/prices/accept`), so the notice stays gone on reload and on the shopper's other devices. */
export function PriceChangeNotice({ cart }: { cart: Cart }) {
  const change = useCartStore((s) => s.change);
  const lines = changedLines(cart);
  if (!lines.length) return null;
  const one = lines.length === 1;
  return (
    <div data-testid="price-change-notice" className="mb-4 flex flex-wrap items-center justify-between gap-3 rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm text-amber-950">
      <p role="status" className="font-medium">
        {one ? "A price has changed" : `${lines.length} prices have changed`} since you added {one ? "it" : "them"}. Your total uses the
        new {one ? "price" : "prices"}.
      </p>
      <AcceptPricesButton busy={false} onAccept={() => void change({ kind: "acceptPrices", items: shownPrices(cart) })} />
    </div>
  );
}
