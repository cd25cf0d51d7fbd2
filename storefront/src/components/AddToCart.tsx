"use client";

import { useState } from "react";
import { Minus, Plus, ShoppingCart } from "lucide-react";
import { useCartStore } from "@/store/cart.store";
import { useCartDrawer } from "./cart/drawer-store";
import { money } from "@/lib/format";
import type { Product } from "@/lib/catalog";

const label = (attributes: Record<string, unknown>) => Object.values(attributes).map(String).join(" / ");

/** Variant picker (out-of-stock variants disabled), quantity and Add to cart. */
export function AddToCart({ product }: { product: Product }) {
  const variants = product.variants; // active ones only
  const firstInStock = variants.find((v) => v.availableStock > 0);
  const [variantId, setVariantId] = useState<string | null>(firstInStock?.id ?? null);
  const [quantity, setQuantity] = useState(1);
  const change = useCartStore((s) => s.change);
  const openDrawer = useCartDrawer((s) => s.openDrawer);
  const variant = variants.find((v) => v.id === variantId);
  const price = variant?.price ?? product.price;
  const stock = variants.length ? variant?.availableStock ?? 0 : product.availableStock;
  const canAdd = stock > 0 && (!variants.length || Boolean(variant));

  return (
    <form
      className="mt-4 space-y-5"
      onSubmit={(event) => {
        event.preventDefault();
        if (!canAdd) return;
        void change({
          kind: "add",
          productId: product.id,
          variantId: variant?.id ?? null,
          quantity,
          preview: {
            name: product.name,
            slug: product.slug,
            imageUrl: product.imageUrl ?? null,
            unitPrice: price,
            attributes: (variant?.attributes ?? {}) as Record<string, string>,
          },
        });
        openDrawer(); // with the optimistic line already in it
      }}
    >
      <p className="text-2xl text-slate-800">{money(price, product.currency)}</p>
      {variants.length > 0 && (
        <fieldset>
          <legend className="mb-2 text-sm font-medium">Option</legend>
          <div className="flex flex-wrap gap-2">
            {variants.map((v) => {
              const out = v.availableStock <= 0;
              return (
                <label
                  key={v.id}
                  className={`cursor-pointer rounded-lg border px-3 py-2 text-sm has-[:checked]:border-indigo-700 has-[:checked]:bg-indigo-50 has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-indigo-600 ${
                    out ? "cursor-not-allowed border-slate-200 text-slate-500 line-through" : "border-slate-300"
                  }`}
                >
                  <input
                    type="radio"
                    name="variant"
                    value={v.id}
                    data-testid="variant-option"
                    data-variant-id={v.id}
                    className="sr-only"
                    disabled={out}
                    checked={variantId === v.id}
                    onChange={() => setVariantId(v.id)}
                  />
                  {label(v.attributes)}
                  {out && <span className="sr-only"> (out of stock)</span>}
                </label>
              );
            })}
          </div>
        </fieldset>
      )}
      <div>
        <label htmlFor="quantity" className="mb-2 block text-sm font-medium">
          Quantity
        </label>
        <div className="inline-flex items-center rounded-lg border border-slate-300">
          <button type="button" aria-label="Decrease quantity" className="p-2 disabled:text-slate-400" disabled={quantity <= 1} onClick={() => setQuantity((q) => Math.max(1, q - 1))}>
            <Minus aria-hidden="true" className="size-4" />
          </button>
          <input
            id="quantity"
            data-testid="product-quantity"
            type="number"
            inputMode="numeric"
            min={1}
            max={99}
            value={quantity}
            onChange={(e) => setQuantity(Math.max(1, Math.min(99, Number(e.target.value) || 1)))}
            className="w-14 border-x border-slate-300 py-2 text-center"
          />
          <button type="button" aria-label="Increase quantity" className="p-2" onClick={() => setQuantity((q) => Math.min(99, q + 1))}>
            <Plus aria-hidden="true" className="size-4" />
          </button>
        </div>
        {stock > 0 && stock <= 5 && <p className="mt-2 text-sm text-amber-800">Only {stock} left in stock</p>}
      </div>
      <button
        type="submit"
        data-testid="add-to-cart"
        disabled={!canAdd}
        className="inline-flex w-full items-center justify-center gap-2 rounded-lg bg-indigo-700 px-6 py-3 font-semibold text-white hover:bg-indigo-800 disabled:bg-slate-400 sm:w-auto"
      >
        <ShoppingCart aria-hidden="true" className="size-5" />
        {canAdd ? "Add to cart" : "Out of stock"}
      </button>
    </form>
  );
}
