"use client";

import { ArrowDown, ArrowUp } from "lucide-react";
import { money } from "@/lib/format";
import type { Cart, CartItem } from "@/lib/api/types";

/** The lines whose price moved since they were added (or since the shopper last accepted). */
export function changedLines(cart: Cart): CartItem[] {
  return cart.items.filter((item) => item.priceChanged && !item.id.startsWith("pending-"));
}

/** What `POST /cart/prices/accept` is sent: each changed line at the price the shopper is shown, so a
 * price that moves again before the click is refused instead of accepted unseen. */
export function shownPrices(cart: Cart): { itemId: string; unitPrice: number }[] {
  return changedLines(cart).map((item) => ({ itemId: item.id, unitPrice: item.unitPrice }));
}

export type Direction = "up" | "down";

export const direction = (item: CartItem): Direction => (item.unitPrice < item.priceAtAdd ? "down" : "up");

/** "Price went up: was $10.00, now $12.50", with the old price struck through and an arrow. */
export function PriceChange({ item, currency }: { item: CartItem; currency: string }) {
  const way = direction(item);
  const Arrow = way === "up" ? ArrowUp : ArrowDown;
  return (
    <span className={way === "up" ? "text-amber-900" : "text-emerald-800"}>
      <Arrow aria-hidden="true" className="mr-1 inline size-4 align-text-bottom" />
      {way === "up" ? "Price went up" : "Price dropped"}: was{" "}
      <s data-testid="price-old">{money(item.priceAtAdd, currency)}</s>, now{" "}
      <strong data-testid="price-new">{money(item.unitPrice, currency)}</strong>
    </span>
  );
}

/** The one control that accepts every changed price (cart page and checkout). */
export function AcceptPricesButton({ onAccept, busy, label = "Accept new prices" }: { onAccept: () => void; busy: boolean; label?: string }) {
  return (
    <button
      type="button"
      data-testid="price-accept"
      disabled={busy}
      onClick={onAccept}
      className="rounded-lg bg-amber-800 px-4 py-2 text-sm font-semibold text-white hover:bg-amber-900 disabled:opacity-60"
    >
      {busy ? "Accepting…" : label}
    </button>
  );
}

/** Checkout refused for changed prices: each changed line old → new, the new total, and the control
 * that accepts them (the shopper sees the total they will be charged before anything is reserved). */
export function PriceReview({ cart, onAccept, busy, note }: { cart: Cart; onAccept: () => void; busy: boolean; note?: string | null }) {
  const lines = changedLines(cart);
  return (
    <section aria-labelledby="price-review-heading" data-testid="price-review" className="rounded-xl border border-amber-300 bg-amber-50 p-6">
      <h2 id="price-review-heading" className="mb-2 text-lg font-semibold">
        {lines.length === 1 ? "A price changed" : "Some prices changed"} since you added {lines.length === 1 ? "this item" : "these items"}
      </h2>
      {note ? (
        <p role="alert" data-testid="price-review-note" className="mb-2 text-sm font-medium text-red-800">
          {note}
        </p>
      ) : null}
      <ul className="mb-4 space-y-1 text-sm">
        {lines.map((item) => (
          <li key={item.id} data-testid="price-change" data-item-id={item.id} data-direction={direction(item)}>
            <span className="font-medium">
              {item.quantity} × {item.name}
            </span>{" "}
            — <PriceChange item={item} currency={cart.currency} />
          </li>
        ))}
      </ul>
      <p className="mb-4 font-semibold">
        New total <span data-testid="price-review-total">{money(cart.totals.total, cart.currency)}</span>
      </p>
      <AcceptPricesButton onAccept={onAccept} busy={busy} label="Accept new prices and continue" />
    </section>
  );
}
