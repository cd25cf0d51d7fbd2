"use client";

import { useState } from "react";
import { Heart } from "lucide-react";
import { moveToList } from "@/lib/actions/lists";
import { useCartStore, withRetries } from "@/store/cart.store";
import type { CartItem } from "@/lib/api/types";
import { listMessage } from "../lists/messages";

/** "Move to wishlist": the line leaves the cart for the Wishlist (made on first use), with its quantity
 * and the shopper's own attributes; one request in flight at a time (a fast second click does nothing). */
export function MoveToWishlistButton({ item, pending }: { item: CartItem; pending: boolean }) {
  const [busy, setBusy] = useState(false);
  const move = async () => {
    setBusy(true);
    const store = useCartStore.getState();
    const result = await withRetries((key) => moveToList(item.id, null, { idempotencyKey: key }));
    if (result.ok) {
      store.receive(result.data.cart);
      store.toast(`${item.name} moved to your Wishlist.`, "info");
    } else {
      store.toast(listMessage(result.problem));
      void store.refresh();
    }
    setBusy(false);
  };
  return (
    <button
      type="button"
      data-testid="wishlist-add"
      disabled={pending || busy}
      onClick={() => void move()}
      className="inline-flex items-center gap-1 text-sm font-medium text-slate-700 hover:text-indigo-800 disabled:opacity-60"
    >
      <Heart aria-hidden="true" className="size-4" /> Move to wishlist
    </button>
  );
}
