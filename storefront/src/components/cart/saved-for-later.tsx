"use client";

import { RotateCcw } from "lucide-react";
import { useCartStore } from "@/store/cart.store";
import { money } from "@/lib/format";
import type { Cart } from "@/lib/api/types";
import { ProductImage } from "../ProductImage";
import { ProductLink } from "./product-link";

type SavedItem = NonNullable<Cart["savedForLater"]>[number];

export function SavedForLater({ saved, currency }: { saved: SavedItem[]; currency: string }) {
  if (!saved.length) return null;
  return (
    <section aria-labelledby="saved-heading" className="mt-8">
      <h2 id="saved-heading" className="mb-3 text-lg font-semibold">
        Saved for later
      </h2>
      <ul className="divide-y divide-slate-200 border-y border-slate-200">
        {saved.map((item) => (
          <SavedItemRow key={item.id} item={item} currency={currency} />
        ))}
      </ul>
    </section>
  );
}

function SavedItemRow({ item, currency }: { item: SavedItem; currency: string }) {
  const change = useCartStore((s) => s.change);
  return (
    <li data-testid="saved-item" data-product-id={item.productId} className="flex items-center gap-4 py-3">
      <ProductImage name={item.name} imageUrl={item.imageUrl} size={56} className="size-14" />
      <div className="min-w-0 flex-1">
        <p className="font-medium">
          <ProductLink slug={item.slug} className="hover:underline">
            {item.name}
          </ProductLink>
        </p>
        <p className="text-sm text-slate-700">
          {item.quantity} × {money(item.unitPrice, currency)}
          {item.priceDropped && <span className="ml-2 text-emerald-800">Price dropped</span>}
          {item.backInStock && <span className="ml-2 text-emerald-800">Back in stock</span>}
        </p>
      </div>
      <button
        type="button"
        data-testid="saved-restore"
        disabled={item.id.startsWith("pending-")}
        onClick={() => void change({ kind: "restore", savedId: item.id })}
        className="inline-flex items-center gap-1 rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-50"
      >
        <RotateCcw aria-hidden="true" className="size-4" /> Move to cart
      </button>
    </li>
  );
}
