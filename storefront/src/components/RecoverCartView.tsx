"use client";

import { useEffect, useRef, useState } from "react";
import Link from "next/link";
import { ShoppingBag } from "lucide-react";
import { recoverCart } from "@/lib/actions/recovery";
import { useCartStore, withRetries } from "@/store/cart.store";
import { money } from "@/lib/format";
import type { Cart, Problem } from "@/lib/api/types";

/** Each recovery problem as a sentence (the API's detail is the fallback). */
function recoveryMessage(problem: Problem): string {
  switch (problem.code) {
    case "recovery_link_invalid": return "This link doesn't work — it may have been cut short when it was copied.";
    case "recovery_link_expired": return "This link has expired.";
    case "recovery_link_used": return "This cart was already picked up with this link, in another browser.";
    case "recovery_link_stale": return "This cart has changed since we sent the link, so there is nothing to bring back.";
    case "cart_not_found": return "We couldn't find that cart.";
    case "authentication_required": return "This cart belongs to an account: sign in to get it back.";
    default: return problem.detail;
  }
}

export function RecoverCartView({ token }: { token: string }) {
  const [cart, setCart] = useState<Cart | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void withRetries((key) => recoverCart(token, { idempotencyKey: key }), crypto.randomUUID()).then((answer) => {
      if (answer.ok) {
        setCart(answer.data);
        useCartStore.getState().hydrate(answer.data);
      } else setProblem(answer.problem);
    });
  }, [token]);

  if (problem) {
    const next = `/cart/recover?token=${encodeURIComponent(token)}`;
    return (
      <div className="mx-auto max-w-lg">
        <h1 className="mb-4 text-2xl font-bold">Your saved cart</h1>
        <p role="alert" data-testid="recover-problem" data-code={problem.code} className="mb-4 text-red-800">
          {recoveryMessage(problem)}
        </p>
        {problem.code === "authentication_required" ? (
          <Link href={`/auth?next=${encodeURIComponent(next)}`} data-testid="recover-sign-in" className="font-semibold text-indigo-700 underline">
            Sign in
          </Link>
        ) : (
          <Link href="/" className="font-semibold text-indigo-700 underline">
            Continue shopping
          </Link>
        )}
      </div>
    );
  }
  if (!cart) return <p role="status">Bringing your cart back…</p>;
  return (
    <div className="mx-auto max-w-lg">
      <div data-testid="recovered-cart" data-cart-id={cart.id ?? ""} className="rounded-xl border border-emerald-300 bg-emerald-50 p-6">
        <ShoppingBag aria-hidden="true" className="mb-2 size-8 text-emerald-700" />
        <h1 className="mb-4 text-2xl font-bold">Your cart is back</h1>
        <ul className="mb-4 text-sm">
          {cart.items.map((item) => (
            <li key={item.id} data-testid="recovered-line" data-product-id={item.productId}>
              {item.quantity} × {item.name} — {money(item.lineTotal, cart.currency)}
            </li>
          ))}
        </ul>
        <p className="mb-4 font-semibold">Subtotal {money(cart.subtotal, cart.currency)}</p>
        <Link href="/cart" data-testid="recover-go-to-cart" className="rounded-lg bg-indigo-700 px-4 py-2 font-semibold text-white">
          Go to your cart
        </Link>
      </div>
    </div>
  );
}
