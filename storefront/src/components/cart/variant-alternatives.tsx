"use client";

import { useCartStore } from "@/store/cart.store";
import { attributeLabel } from "@/lib/format";
import type { CartItem, ValidationIssue } from "@/lib/api/types";

/** An out-of-stock line's in-stock siblings, one click to switch. */
export function VariantAlternatives({ item, issue, pending }: { item: CartItem; issue?: ValidationIssue; pending: boolean }) {
  const change = useCartStore((s) => s.change);
  if (!issue?.alternatives?.length) return null;
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm text-slate-700">
      <span>In stock:</span>
      {issue.alternatives.map((a) => (
        <button
          key={a.variantId}
          type="button"
          data-testid="line-alternative"
          data-variant-id={a.variantId}
          disabled={pending}
          onClick={() =>
            void change({ kind: "switch", itemId: item.id, variantId: a.variantId, attributes: a.attributes ?? {}, unitPrice: a.unitPrice })
          }
          className="rounded-full border border-slate-300 px-3 py-1 font-medium hover:bg-slate-50"
        >
          Switch to {attributeLabel(a.attributes ?? {}) || a.sku}
        </button>
      ))}
    </div>
  );
}
