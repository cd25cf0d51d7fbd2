"use client";

import { attributeLabel, money } from "@/lib/format";
import type { CartItem, ValidationIssue } from "@/lib/api/types";
import { ProductImage } from "../ProductImage";
import { DeleteItemButton } from "./delete-item-button";
import { EditItemQuantity } from "./edit-item-quantity";
import { LineIssues } from "./line-issues";
import { LinePrice } from "./line-price";
import { MoveToWishlistButton } from "./move-to-wishlist-button";
import { ProductLink } from "./product-link";
import { SaveForLaterButton } from "./save-for-later-button";
import { VariantAlternatives } from "./variant-alternatives";

/** One cart line and every control on it. A "pending-" id is an optimistic add not yet confirmed: its controls wait. */
export function CartLine({ item, currency, issue }: { item: CartItem; currency: string; issue?: ValidationIssue }) {
  const pending = item.id.startsWith("pending-");
  const attributes = attributeLabel(item.attributes);
  return (
    <li data-testid="cart-line" data-product-id={item.productId} data-variant-id={item.variantId ?? ""} className="flex gap-4 py-4">
      <ProductImage name={item.name} imageUrl={item.imageUrl} />
      <div className="flex min-w-0 flex-1 flex-col gap-2">
        <div className="flex flex-wrap items-start justify-between gap-2">
          <div className="min-w-0">
            <h3 className="font-semibold">
              <ProductLink slug={item.slug} className="hover:text-indigo-800 hover:underline">
                {item.name}
              </ProductLink>
            </h3>
            {attributes && <p className="text-sm text-slate-700">{attributes}</p>}
            <LinePrice item={item} currency={currency} />
          </div>
          <p className="font-semibold" data-testid="line-total">
            {money(item.lineTotal, currency)}
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-3">
          <EditItemQuantity item={item} pending={pending} />
          <SaveForLaterButton item={item} pending={pending} />
          <MoveToWishlistButton item={item} pending={pending} />
          <DeleteItemButton item={item} pending={pending} />
        </div>
        <LineIssues item={item} issue={issue} currency={currency} />
        <VariantAlternatives item={item} issue={issue} pending={pending} />
      </div>
    </li>
  );
}
