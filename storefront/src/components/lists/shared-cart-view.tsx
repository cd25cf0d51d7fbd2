"use client";

import { useState } from "react";
import Link from "next/link";
import { Gift } from "lucide-react";
import { copySharedCart } from "@/lib/actions/lists";
import { attributeLabel, money } from "@/lib/format";
import { useCartStore, withRetries } from "@/store/cart.store";
import type { AddedLine, Problem, SharedCart } from "@/lib/api/types";
import { ProductImage } from "../ProductImage";
import { ProductLink } from "../cart/product-link";
import { AddedReport } from "./added-report";
import { listMessage } from "./messages";

/** /shared/[token]: what someone shared, at today's prices, and "Add all to my cart", which adds the lines
 * to this browser's own cart (a new visitor's first). Nothing here is the sharer's to change. */
export function SharedCartView({ token, shared, problem }: { token: string; shared: SharedCart | null; problem: Problem | null }) {
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<AddedLine[] | null>(null);
  const [error, setError] = useState<Problem | null>(problem);

  const copy = async () => {
    if (busy) return;
    setBusy(true);
    const result = await withRetries((key) => copySharedCart(token, { idempotencyKey: key }));
    setBusy(false);
    if (result.ok) {
      setReport(result.data.lines);
      useCartStore.getState().receive(result.data.cart);
    } else setError(result.problem);
  };

  if (!shared) {
    return (
      <div className="mx-auto max-w-lg">
        <h1 className="mb-4 text-2xl font-bold">A shared cart</h1>
        <p role="alert" data-testid="shared-problem" data-code={error?.code ?? ""} className="mb-4 text-red-800">
          {error ? listMessage(error) : "This link doesn't work."}
        </p>
        <Link href="/" className="font-semibold text-indigo-700 underline">
          Continue shopping
        </Link>
      </div>
    );
  }

  const title = shared.kind === "list" ? `A shared list: ${shared.name}` : "A shared cart";
  const names = Object.fromEntries(shared.items.map((i) => [`${i.productId}:${i.variantId ?? ""}`, i.name]));
  return (
    <div className="mx-auto max-w-2xl">
      <div className="mb-6 flex items-center gap-2">
        <Gift aria-hidden="true" className="size-6 shrink-0 text-indigo-700" />
        <h1 className="min-w-0 text-2xl font-bold break-words">{title}</h1>
      </div>
      <p className="mb-4 text-sm text-slate-700">
        Someone shared these items with you. Prices and stock are today&apos;s. The link works until{" "}
        {new Date(shared.expiresAt).toLocaleDateString("en-US", { month: "long", day: "numeric" })}.
      </p>
      {shared.items.length === 0 ? (
        <p className="mb-6 text-slate-700">There is nothing here now.</p>
      ) : (
        <ul className="mb-4 divide-y divide-slate-200 border-y border-slate-200">
          {shared.items.map((item) => {
            const attributes = attributeLabel(item.attributes);
            return (
              <li
                key={`${item.productId}-${item.variantId ?? ""}`}
                data-testid="shared-cart-line"
                data-product-id={item.productId}
                data-variant-id={item.variantId ?? ""}
                className="flex items-center gap-4 py-3"
              >
                <ProductImage name={item.name} imageUrl={item.imageUrl} size={56} className="size-14" />
                <div className="min-w-0 flex-1">
                  <h2 className="font-semibold">
                    <ProductLink slug={item.slug} className="hover:text-indigo-800 hover:underline">
                      {item.name}
                    </ProductLink>
                  </h2>
                  {attributes && <p className="text-sm text-slate-700">{attributes}</p>}
                  <p className="text-sm">
                    {item.quantity} × {money(item.unitPrice, item.currency)}
                    {!item.available && <span className="ml-2 text-amber-900">{item.availableStock > 0 ? `Only ${item.availableStock} left` : "Out of stock"}</span>}
                  </p>
                </div>
                <p className="font-semibold">{money(item.lineTotal, item.currency)}</p>
              </li>
            );
          })}
        </ul>
      )}
      {shared.subtotal !== null && shared.currency && shared.items.length > 0 && (
        <p className="mb-6 text-right font-semibold" data-testid="shared-cart-subtotal">
          Subtotal {money(shared.subtotal, shared.currency)}
        </p>
      )}
      {error && (
        <p role="alert" data-testid="shared-problem" data-code={error.code} className="mb-4 text-red-800">
          {listMessage(error)}
        </p>
      )}
      {report ? (
        <div className="flex flex-col gap-3">
          <AddedReport lines={report} names={names} />
          <Link href="/cart" data-testid="shared-cart-done" className="font-semibold text-indigo-800 underline">
            Go to your cart
          </Link>
        </div>
      ) : (
        <button
          type="button"
          data-testid="shared-cart-copy"
          disabled={busy || shared.items.length === 0}
          onClick={() => void copy()}
          className="rounded-lg bg-indigo-700 px-4 py-2 font-semibold text-white disabled:opacity-60"
        >
          Add all to my cart
        </button>
      )}
    </div>
  );
}
