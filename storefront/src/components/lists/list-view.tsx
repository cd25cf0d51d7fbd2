"use client";

import { useState } from "react";
import Link from "next/link";
import { ShoppingCart, Trash2 } from "lucide-react";
import { getList, moveToCart, removeListItem, restoreList, shareList } from "@/lib/actions/lists";
import { attributeLabel, money } from "@/lib/format";
import { useCartStore, withRetries } from "@/store/cart.store";
import type { ActionResult, AddedLine, ListItem, ShareLink, ShoppingList } from "@/lib/api/types";
import { ProductImage } from "../ProductImage";
import { ProductLink } from "../cart/product-link";
import { AddedReport } from "./added-report";
import { listMessage } from "./messages";
import { ShareLinkBox } from "./share-link-box";

/** Today's price and stock beside what the item had when saved, in words. */
function since(item: ListItem): string[] {
  const notes: string[] = [];
  if (item.priceChange < 0) notes.push(`Price dropped from ${money(item.priceAtSave, item.currency)}`);
  if (item.priceChange > 0) notes.push(`Was ${money(item.priceAtSave, item.currency)} when saved`);
  if (!item.available) notes.push(item.availableStock > 0 ? "No longer sold" : "Out of stock");
  else if (item.backInStock) notes.push("Back in stock");
  else if (item.availableStock < item.quantity) notes.push(`Only ${item.availableStock} left`);
  return notes;
}

/** /lists/[id]: the items, each movable to the cart or removable, and "Add all to cart" (a restore: the
 * list is kept, and what did not fit is said line by line). */
export function ListView({ initialList }: { initialList: ShoppingList }) {
  const [list, setList] = useState(initialList);
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<AddedLine[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [link, setLink] = useState<ShareLink | null>(null);
  const names = Object.fromEntries(list.items.map((i) => [`${i.productId}:${i.variantId ?? ""}`, i.name]));

  /** One change at a time; the list's answer (or, refused, a fresh read of it) is what shows. */
  const act = async <T,>(run: (key: string) => Promise<ActionResult<T>>, then: (data: T) => void) => {
    if (busy) return;
    setBusy(true);
    setError(null);
    const result = await withRetries(run);
    setBusy(false);
    if (result.ok) return then(result.data);
    setError(listMessage(result.problem));
    if (result.problem.code === "list_changed" || result.problem.code === "list_item_not_found") {
      const fresh = await getList(list.id); // changed in another window: show it as it is now
      if (fresh.ok) setList(fresh.data);
    }
  };

  const toCart = (item: ListItem) =>
    act(
      (key) => moveToCart(list.id, item.id, { idempotencyKey: key, ifMatch: list.version }),
      (moved) => {
        setList(moved.list);
        useCartStore.getState().receive(moved.cart);
        useCartStore.getState().toast(`${item.name} moved to your cart.`, "info");
      },
    );

  const remove = (item: ListItem) =>
    act((key) => removeListItem(list.id, item.id, { idempotencyKey: key, ifMatch: list.version }), setList);

  const restore = () =>
    act(
      (key) => restoreList(list.id, { idempotencyKey: key, ifMatch: list.version }),
      (added) => {
        setReport(added.lines);
        useCartStore.getState().receive(added.cart);
      },
    );

  const share = () => act((key) => shareList(list.id, { idempotencyKey: key }), setLink);

  return (
    <>
      <div className="mb-6 flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-2xl font-bold" data-testid="list-name">
          {list.name}
        </h1>
        <Link href="/lists" className="text-sm font-medium text-indigo-800 underline">
          All your lists
        </Link>
      </div>
      {error && (
        <p role="alert" data-testid="list-error" className="mb-4 text-red-800">
          {error}
        </p>
      )}
      {list.items.length === 0 ? (
        <p data-testid="list-empty" className="mb-6 text-slate-700">
          This list is empty.
        </p>
      ) : (
        <ul className="mb-6 divide-y divide-slate-200 border-y border-slate-200">
          {list.items.map((item) => {
            const attributes = attributeLabel(item.attributes);
            return (
              <li
                key={item.id}
                data-testid="list-item"
                data-product-id={item.productId}
                data-variant-id={item.variantId ?? ""}
                className="flex flex-wrap items-center gap-4 py-4"
              >
                <ProductImage name={item.name} imageUrl={item.imageUrl} size={64} className="size-16" />
                <div className="min-w-0 flex-1">
                  <h2 className="font-semibold">
                    <ProductLink slug={item.slug} className="hover:text-indigo-800 hover:underline">
                      {item.name}
                    </ProductLink>
                  </h2>
                  {attributes && <p className="text-sm text-slate-700">{attributes}</p>}
                  <p className="text-sm">
                    <span data-testid="list-item-quantity">{item.quantity}</span> × {money(item.unitPrice, item.currency)}
                  </p>
                  {since(item).map((note) => (
                    <p key={note} data-testid="list-item-note" className="text-sm text-amber-900">
                      {note}
                    </p>
                  ))}
                </div>
                <div className="flex flex-wrap gap-2">
                  <button
                    type="button"
                    data-testid="list-item-to-cart"
                    disabled={busy}
                    onClick={() => void toCart(item)}
                    className="inline-flex items-center gap-1 rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 disabled:opacity-60"
                  >
                    <ShoppingCart aria-hidden="true" className="size-4" /> Move to cart
                  </button>
                  <button
                    type="button"
                    data-testid="list-item-remove"
                    disabled={busy}
                    onClick={() => void remove(item)}
                    aria-label={`Remove ${item.name} from the list`}
                    className="rounded-lg p-2 text-slate-700 hover:bg-slate-100 disabled:opacity-60"
                  >
                    <Trash2 aria-hidden="true" className="size-4" />
                  </button>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      <div className="mb-6 flex flex-wrap gap-3">
        <button
          type="button"
          data-testid="list-restore"
          disabled={busy || list.items.length === 0}
          onClick={() => void restore()}
          className="rounded-lg bg-indigo-700 px-4 py-2 font-semibold text-white disabled:opacity-60"
        >
          Add all to cart
        </button>
        <button
          type="button"
          data-testid="share-list"
          disabled={busy}
          onClick={() => void share()}
          className="rounded-lg border border-slate-300 px-4 py-2 font-medium hover:bg-slate-50 disabled:opacity-60"
        >
          Share list
        </button>
      </div>
      {report && (
        <div className="mb-6 flex flex-col gap-2">
          <AddedReport lines={report} names={names} />
          <Link href="/cart" data-testid="list-go-to-cart" className="font-semibold text-indigo-800 underline">
            Go to your cart
          </Link>
        </div>
      )}
      {link && <ShareLinkBox link={link} label="Anyone with this link can see this list as it is" />}
    </>
  );
}
