import { money } from "@/lib/format";
import type { Cart } from "@/lib/api/types";

/** How far the discounted subtotal is from the free-shipping threshold. */
export function FreeShippingProgress({ cart }: { cart: Cart }) {
  const { totals } = cart;
  const remaining = totals.freeShippingRemaining ?? 0;
  const threshold = totals.subtotal - totals.discount + remaining;
  const progress = threshold > 0 ? Math.min(100, Math.round(((totals.subtotal - totals.discount) / threshold) * 100)) : 100;
  return (
    <div className="mb-4">
      <p className="mb-1 text-sm" id="free-shipping-label">
        {remaining > 0 ? `Add ${money(remaining, cart.currency)} more for free shipping` : "You get free shipping!"}
      </p>
      <div
        data-testid="free-shipping-progress"
        role="progressbar"
        aria-labelledby="free-shipping-label"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={progress}
        className="h-2 overflow-hidden rounded-full bg-slate-200"
      >
        <div className="h-full bg-emerald-600 transition-all" style={{ width: `${progress}%` }} />
      </div>
    </div>
  );
}
