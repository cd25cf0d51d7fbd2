"use client";

import { useEffect, useRef, useState } from "react";
import Link from "next/link";
import { CheckCircle2 } from "lucide-react";
import { checkout } from "@/lib/actions/cart";
import { PlaceOrder } from "@/components/PlaceOrder";
import { useCartStore, withRetries } from "@/store/cart.store";
import { money } from "@/lib/format";
import type { CheckoutResult, Problem } from "@/lib/api/types";

/** Validates and reserves the cart (`POST /cart/checkout`, one Idempotency-Key for all retries)
 * and shows the reservation and when it expires; with demo payments (the local stack), the
 * Place order step after it. */
export function CheckoutView({ demoPayments = false }: { demoPayments?: boolean }) {
  const [result, setResult] = useState<CheckoutResult | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const key = crypto.randomUUID();
    void withRetries((k) => checkout({}, { idempotencyKey: k }), key).then((answer) => {
      if (answer.ok) {
        setResult(answer.data);
        useCartStore.getState().hydrate(answer.data.cart);
      } else setProblem(answer.problem);
    });
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
