"use client";

import { Tag, X } from "lucide-react";
import { useCartStore } from "@/store/cart.store";
import type { Cart } from "@/lib/api/types";

/** The cart's codes, each removable; one that does not apply says why. */
export function AppliedCodes({ codes }: { codes: NonNullable<Cart["discountCodes"]> }) {
  const change = useCartStore((s) => s.change);
  if (!codes.length) return null;
  return (
    <ul className="mb-4 flex flex-wrap gap-2">
      {codes.map((d) => (
        <li key={d.code} data-testid="applied-code" className="inline-flex items-center gap-1 rounded-full bg-indigo-100 px-3 py-1 text-sm text-indigo-950">
          <Tag aria-hidden="true" className="size-3.5" />
          {d.code}
          {!d.applicable && <span className="text-xs"> (not applied: {d.reason})</span>}
          <button type="button" aria-label={`Remove code ${d.code}`} onClick={() => void change({ kind: "removeCode", code: d.code })} className="rounded-full p-0.5 hover:bg-indigo-200">
            <X aria-hidden="true" className="size-3.5" />
          </button>
        </li>
      ))}
    </ul>
  );
}
