import { money } from "@/lib/format";
import type { CartItem } from "@/lib/api/types";

/** The unit price, and what it was when added if it has changed since. */
export function LinePrice({ item, currency }: { item: CartItem; currency: string }) {
  return (
    <p className="text-sm text-slate-700">
      {money(item.unitPrice, currency)} each
      {item.priceChanged && (
        <span className="ml-2 font-medium text-amber-800">
          (was {money(item.priceAtAdd, currency)}
          {item.priceDrop ? ", price dropped" : ", price changed"})
        </span>
      )}
    </p>
  );
}
