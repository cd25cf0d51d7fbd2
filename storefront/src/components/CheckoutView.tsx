"use client";

import { useEffect, useRef, useState } from "react";
import Link from "next/link";
import { CheckCircle2 } from "lucide-react";
import { acceptPrices, checkout } from "@/lib/actions/cart";
import { PlaceOrder } from "@/components/PlaceOrder";
import { changedLines, PriceReview, shownPrices } from "@/components/cart/price-changes";
import { useCartStore, withRetries } from "@/store/cart.store";
import { money } from "@/lib/format";
import type { Cart, CheckoutResult, Problem } from "@/lib/api/types";

/** Refused only because prices changed: the shopper can accept them here and go on. */
const pricesOnly = (problem: Problem): problem is Problem & { cart: Cart } =>
  problem.code === "checkout_blocked" &&
  Boolean(problem.cart) &&
  (problem.issues ?? []).length > 0 &&
  (problem.issues ?? []).every((issue) => issue.type === "price_changed");

/** Validates and reserves the cart (`POST /cart/checkout`, one Idempotency-Key for all retries)
 * and shows the reservation and when it expires; with demo payments (the local stack), the
 * Place order step after it. Refused because prices changed, it shows each changed line and the
 * new total, and `price-accept` accepts them on the cart (`POST /cart/prices/accept` with the prices
 * shown and the version seen), then reserves that version: a price that moves again in between is
 * shown again, never charged unseen (`acceptPriceChanges: true` would take whatever the price is). */
export function CheckoutView({ demoPayments = false }: { demoPayments?: boolean }) {
  const [result, setResult] = useState<CheckoutResult | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [review, setReview] = useState<{ cart: Cart; note: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const started = useRef(false);

  const reserve = async (ifMatch?: number) => {
    const answer = await withRetries((k) => checkout({}, { idempotencyKey: k, ifMatch }), crypto.randomUUID());
    if (answer.ok) {
      setReview(null);
      setResult(answer.data);
      useCartStore.getState().hydrate(answer.data.cart);
    } else if (pricesOnly(answer.problem)) {
      setReview({ cart: answer.problem.cart, note: null });
      useCartStore.getState().hydrate(answer.problem.cart);
    } else {
      setReview(null);
      setProblem(answer.problem);
    }
  };

  const accept = async () => {
    if (!review || busy) return;
    setBusy(true);
    const shown = review.cart;
    const answer = await withRetries((k) => acceptPrices(shownPrices(shown), { idempotencyKey: k, ifMatch: shown.version }));
    if (answer.ok) {
      useCartStore.getState().hydrate(answer.data);
      await reserve(answer.data.version);
    } else if ((answer.problem.code === "price_changed" || answer.problem.code === "version_conflict") && answer.problem.cart) {
      const current = answer.problem.cart;
      useCartStore.getState().hydrate(current);
      if (changedLines(current).length) {
        const note =
          answer.problem.code === "price_changed"
            ? "A price changed again while you were deciding. Here are the prices now."
            : "Your cart changed somewhere else. Here it is now.";
        setReview({ cart: current, note });
      } else {
        await reserve(current.version); // accepted meanwhile (another tab): nothing left to accept
      }
    } else {
      setReview(null);
      setProblem(answer.problem);
    }
    setBusy(false);
  };

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void reserve();
  }, []);

  if (problem) {
    return (
      <div className="mx-auto max-w-lg">
        <h1 className="mb-4 text-2xl font-bold">Checkout</h1>
        <p role="alert" data-testid="checkout-problem" className="mb-4 text-red-800">
          {problem.detail}
        </p>
        <Link href="/cart" className="font-semibold text-indigo-700 underline">
          Back to your cart
        </Link>
      </div>
    );
  }
  if (review) {
    return (
      <div className="mx-auto max-w-lg">
        <h1 className="mb-4 text-2xl font-bold">Checkout</h1>
        <PriceReview cart={review.cart} note={review.note} busy={busy} onAccept={() => void accept()} />
        <Link href="/cart" className="mt-4 inline-block font-semibold text-indigo-700 underline">
          Back to your cart
        </Link>
      </div>
    );
  }
  if (!result) return <p role="status">Reserving your items…</p>;
  const expires = new Date(result.expiresAt);
  return (
    <div className="mx-auto max-w-lg">
      <div data-testid="checkout-confirmation" data-checkout-id={result.checkoutId} className="rounded-xl border border-emerald-300 bg-emerald-50 p-6">
        <CheckCircle2 aria-hidden="true" className="mb-2 size-8 text-emerald-700" />
        <h1 className="mb-2 text-2xl font-bold">Your items are reserved</h1>
        <p className="mb-1">
          Reservation <span className="font-mono">{result.checkoutId}</span>
        </p>
        <p className="mb-4">
          Held until <time dateTime={result.expiresAt}>{expires.toLocaleTimeString("en-US", { hour: "2-digit", minute: "2-digit" })}</time>.
        </p>
        <ul className="mb-4 text-sm">
          {result.cart.items.map((item) => (
            <li key={item.id} data-testid="checkout-line">
              {item.quantity} × {item.name} — {money(item.lineTotal, result.cart.currency)}
            </li>
          ))}
        </ul>
        <p className="font-semibold">Total {money(result.cart.totals.total, result.cart.currency)}</p>
      </div>
      {demoPayments ? <PlaceOrder checkoutId={result.checkoutId} total={money(result.cart.totals.total, result.cart.currency)} /> : null}
    </div>
  );
}
