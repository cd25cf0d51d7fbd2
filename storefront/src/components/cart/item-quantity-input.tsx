"use client";

import { useEffect, useState } from "react";
import type { CartItem } from "@/lib/api/types";

/** The typed quantity: a draft while typing, committed on blur or Enter (anything not a whole number ≥ 0 reverts). */
export function ItemQuantityInput({
  item,
  max,
  disabled,
  onCommit,
}: {
  item: CartItem;
  max: number;
  disabled: boolean;
  onCommit: (quantity: number) => void;
}) {
  const [draft, setDraft] = useState(String(item.quantity));
  useEffect(() => setDraft(String(item.quantity)), [item.quantity]);
  const commitDraft = () => {
    const quantity = Math.floor(Number(draft));
    if (Number.isFinite(quantity) && quantity >= 0) onCommit(quantity);
    else setDraft(String(item.quantity));
  };
  return (
    <input
      data-testid="line-quantity"
      aria-label={`Quantity of ${item.name}`}
      type="number"
      inputMode="numeric"
      min={0}
      max={max}
      value={draft}
      disabled={disabled}
      onChange={(e) => setDraft(e.target.value)}
      onBlur={commitDraft}
      onKeyDown={(e) => {
        if (e.key === "Enter") commitDraft();
      }}
      className="w-14 border-x border-slate-300 py-1.5 text-center"
    />
  );
}
