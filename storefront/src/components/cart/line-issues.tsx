"use client";

import { useCartStore } from "@/store/cart.store";
import type { CartItem, ValidationIssue } from "@/lib/api/types";
import { direction, PriceChange } from "./price-changes";

/** What the shopper must know about a line: a price that changed since it was added (old and new, up or
 * down: from the cart itself, so it shows without a validation), the store's note (a refused change) and
 * the validation issue. */
export function LineIssues({ item, issue, currency }: { item: CartItem; issue?: ValidationIssue; currency: string }) {
  const note = useCartStore((s) => s.lineNotes[item.id]);
  const messages = [note, issue && issue.type !== "price_changed" ? issue.message : null].filter(Boolean) as string[];
  return (
    <>
      {item.priceChanged && (
        <p data-testid="line-issue" data-issue="price_changed" data-direction={direction(item)} className="text-sm font-medium">
          <PriceChange item={item} currency={currency} />
        </p>
      )}
      {messages.map((message) => (
        <p key={message} data-testid="line-issue" role="status" className="text-sm font-medium text-red-800">
          {message}
        </p>
      ))}
    </>
  );
}
