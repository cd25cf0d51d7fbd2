"use client";

import { useCartStore } from "@/store/cart.store";
import type { CartItem, ValidationIssue } from "@/lib/api/types";

/** What the shopper must know about a line: the store's note (a refused change) and the validation issue
 * (price changes are shown by LinePrice, not here). */
export function LineIssues({ item, issue }: { item: CartItem; issue?: ValidationIssue }) {
  const note = useCartStore((s) => s.lineNotes[item.id]);
  const messages = [note, issue && issue.type !== "price_changed" ? issue.message : null].filter(Boolean) as string[];
  return (
    <>
      {messages.map((message) => (
        <p key={message} data-testid="line-issue" role="status" className="text-sm font-medium text-red-800">
          {message}
        </p>
      ))}
    </>
  );
}
