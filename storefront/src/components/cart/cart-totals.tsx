import { money } from "@/lib/format";
import type { Cart } from "@/lib/api/types";

/** The cart's totals. `testid` names their test ids (`totals-subtotal`, …): the drawer's are `drawer-…`. */
export function CartTotals({ cart, testid = "totals", className = "space-y-2" }: { cart: Cart; testid?: string; className?: string }) {
  const { totals } = cart;
  return (
    <dl className={`text-sm ${className}`}>
      <Row label="Subtotal" testid={`${testid}-subtotal`} value={money(totals.subtotal, cart.currency)} />
      <Row label="Discount" testid={`${testid}-discount`} value={totals.discount ? `−${money(totals.discount, cart.currency)}` : money(0, cart.currency)} />
      <Row label="Shipping" testid={`${testid}-shipping`} value={totals.shipping ? money(totals.shipping, cart.currency) : "Free"} />
      <Row label={taxLabel(totals)} testid={`${testid}-tax`} value={totals.taxRate ? money(totals.tax, cart.currency) : "Calculated at checkout"} />
      <div className="flex justify-between border-t border-slate-300 pt-2 text-base font-semibold">
        <dt>Total</dt>
        <dd data-testid={`${testid}-total`}>{money(totals.total, cart.currency)}</dd>
      </div>
    </dl>
  );
}

/** No rate for the cart's currency: the order service computes the tax. Included: part of the prices. */
function taxLabel(totals: Cart["totals"]): string {
  if (!totals.taxRate) return "Tax";
  const rate = `${(totals.taxRate / 100).toLocaleString("en-US", { maximumFractionDigits: 2 })}%`;
  return totals.taxIncluded ? `Tax included (${rate})` : `Tax (${rate})`;
}

function Row({ label, value, testid }: { label: string; value: string; testid: string }) {
  return (
    <div className="flex justify-between">
      <dt>{label}</dt>
      <dd data-testid={testid}>{value}</dd>
    </div>
  );
}
