"use client";

import { useState } from "react";
import Link from "next/link";
import { PackageCheck, RotateCcw } from "lucide-react";
import { buyAgain, placeDemoOrder } from "@/lib/actions/orders";
import { useCartStore } from "@/store/cart.store";
import { EMPTY_CART, type Problem, type ReorderResult } from "@/lib/api/types";

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
        <div className="flex flex-wrap items-center gap-4">
          <Link href="/" className="font-semibold text-indigo-700 underline">
            Continue shopping
          </Link>
          <BuyAgain orderId={orderId} />
        </div>
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

/** "Buy again": the order's lines back into the cart as they fit now (POST /cart/reorder); what
 * could not be added is listed with the reason. One Idempotency-Key per order shown: a second click
 * (or a retried request) adds the lines once. */
function BuyAgain({ orderId }: { orderId: string }) {
  const [key] = useState(() => crypto.randomUUID());
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ReorderResult | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  async function again() {
    setBusy(true);
    setProblem(null);
    const answer = await buyAgain(orderId, key);
    setBusy(false);
    if (!answer.ok) return setProblem(answer.problem);
    setResult(answer.data);
    useCartStore.getState().hydrate(answer.data.cart, { signedIn: true });
  }

  const added = result?.added.reduce((sum, line) => sum + line.quantity, 0) ?? 0;
  return (
    <div className="flex flex-col gap-2">
      <button
        type="button"
        data-testid="buy-again"
        disabled={busy || result !== null}
        onClick={() => void again()}
        className="inline-flex items-center gap-2 rounded-lg border border-indigo-700 px-4 py-2 font-semibold text-indigo-700 disabled:opacity-60"
      >
        <RotateCcw aria-hidden="true" className="size-4" />
        {busy ? "Adding to your cart…" : "Buy again"}
      </button>
      {result ? (
        <div role="status" data-testid="buy-again-result" data-added={added}>
          <p>
            {added} item{added === 1 ? "" : "s"} added to your cart.{" "}
            <Link href="/cart" data-testid="buy-again-go-to-cart" className="font-semibold text-indigo-700 underline">
              Go to cart
            </Link>
          </p>
          {result.skipped.length ? (
            <ul className="mt-1 list-disc pl-5 text-sm text-amber-900">
              {result.skipped.map((line) => (
                <li key={line.index} data-testid="buy-again-skipped" data-code={line.code}>
                  {line.name ?? "An item"}: {line.detail}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {problem ? (
        <p role="alert" data-testid="buy-again-problem" data-code={problem.code} className="text-red-800">
          {problem.code === "bulk_rejected" ? "None of this order's items can be added to your cart now." : problem.detail}
        </p>
      ) : null}
    </div>
  );
}
