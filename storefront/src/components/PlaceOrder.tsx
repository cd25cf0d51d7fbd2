"use client";

import { useState } from "react";
import Link from "next/link";
import { PackageCheck } from "lucide-react";
import { placeDemoOrder } from "@/lib/actions/orders";
import { useCartStore } from "@/store/cart.store";
import { EMPTY_CART, type Problem } from "@/lib/api/types";

/** The demo payment step after the reservation (local stack only, `CART_DEMO_PAYMENTS`): Place
 * order pays for the reservation, the order is confirmed, and the cart the shopper sees is empty. */
export function PlaceOrder({ checkoutId, total }: { checkoutId: string; total: string }) {
  const [orderId, setOrderId] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  async function place() {
    setBusy(true);
    setProblem(null);
    const answer = await placeDemoOrder(checkoutId);
    setBusy(false);
    if (!answer.ok) return setProblem(answer.problem);
    setOrderId(answer.data.orderId);
    useCartStore.getState().hydrate(EMPTY_CART); // the cart was converted: the next one starts empty
  }

  if (orderId) {
    return (
      <div data-testid="order-confirmation" data-order-id={orderId} role="status" className="mt-6 rounded-xl border border-indigo-300 bg-indigo-50 p-6">
        <PackageCheck aria-hidden="true" className="mb-2 size-8 text-indigo-700" />
        <h2 className="mb-2 text-xl font-bold">Thank you: your order is placed</h2>
        <p className="mb-4">
          Order <span className="font-mono">{orderId}</span>
        </p>
        <Link href="/" className="font-semibold text-indigo-700 underline">
          Continue shopping
        </Link>
      </div>
    );
  }
  return (
    <div className="mt-6">
      <p className="mb-2 text-sm text-gray-700">Demo payment: no card is charged.</p>
      <button
        type="button"
        data-testid="place-order"
        disabled={busy}
        onClick={() => void place()}
        className="rounded-lg bg-indigo-700 px-4 py-2 font-semibold text-white disabled:opacity-60"
      >
        {busy ? "Placing your order…" : `Place order · ${total}`}
      </button>
      {problem ? (
        <p role="alert" data-testid="place-order-problem" className="mt-2 text-red-800">
          {problem.detail}
        </p>
      ) : null}
    </div>
  );
}
