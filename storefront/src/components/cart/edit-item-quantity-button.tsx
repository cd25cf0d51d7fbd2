"use client";

import { Minus, Plus } from "lucide-react";
import type { CartItem } from "@/lib/api/types";

/** One step of a line's quantity stepper, up or down. */
export function EditItemQuantityButton({
  item,
  type,
  disabled,
  onStep,
}: {
  item: CartItem;
  type: "plus" | "minus";
  disabled: boolean;
  onStep: (quantity: number) => void;
}) {
  const plus = type === "plus";
  const Icon = plus ? Plus : Minus;
  return (
    <button
      type="button"
      data-testid={plus ? "line-increment" : "line-decrement"}
      aria-label={`${plus ? "Increase" : "Decrease"} quantity of ${item.name}`}
      disabled={disabled}
      onClick={() => onStep(item.quantity + (plus ? 1 : -1))}
      className="p-2 disabled:text-slate-400"
    >
      <Icon aria-hidden="true" className="size-4" />
    </button>
  );
}
