"use client";

import { useEffect, useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { Bookmark, Minus, Plus, RotateCcw, ShoppingBag, Tag, Trash2, X } from "lucide-react";
import { useCartStore } from "@/store/cart.store";
import { attributeLabel, money } from "@/lib/format";
import type { Cart, CartItem, SyncConflict, ValidationIssue } from "@/lib/api/types";
import { ProductImage } from "./ProductImage";

interface Props {
  initialCart: Cart;
  initialIssues: ValidationIssue[];
  signedIn: boolean;
}

export function CartView({ initialCart, initialIssues, signedIn }: Props) {
  const router = useRouter();
  const hydrated = useCartStore((s) => s.hydrated);
  const storeCart = useCartStore((s) => s.cart);
  const cart = hydrated ? storeCart : initialCart;
  const change = useCartStore((s) => s.change);
  const issues = useCartStore((s) => s.issues);

  useEffect(() => {
    useCartStore.getState().hydrate(initialCart, { signedIn, issues: initialIssues });
  }, [initialCart, initialIssues, signedIn]);

  const shownIssues = hydrated ? issues : initialIssues;
  const conflicts = useCartStore((s) => s.conflicts);
  const saved = cart.savedForLater ?? [];

  if (!cart.items.length) {
    return (
      <>
        <h1 className="mb-6 text-2xl font-bold">Your cart</h1>
        <div data-testid="empty-cart" className="rounded-xl border border-dashed border-slate-300 p-10 text-center">
          <ShoppingBag aria-hidden="true" className="mx-auto mb-3 size-10 text-slate-400" />
          <p className="mb-4 text-lg">Your cart is empty.</p>
          <Link href="/" className="font-semibold text-indigo-700 underline">
            Continue shopping
          </Link>
        </div>
        <SavedList saved={saved} currency={cart.currency} />
      </>
    );
  }

  return (
    <>
      <div className="mb-6 flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-2xl font-bold">Your cart</h1>
        <button
          type="button"
          data-testid="clear-cart"
          onClick={() => void change({ kind: "clear" })}
          className="text-sm font-medium text-slate-700 underline hover:text-red-800"
        >
          Clear cart
        </button>
      </div>
      <div className="grid gap-8 lg:grid-cols-[minmax(0,1fr)_22rem]">
        <section aria-labelledby="lines-heading">
          <h2 id="lines-heading" className="sr-only">
            Items
          </h2>
          {conflicts.length > 0 && <SyncConflicts conflicts={conflicts} cart={cart} />}
          <ul className="divide-y divide-slate-200 border-y border-slate-200">
            {cart.items.map((item) => (
              <Line key={item.id} item={item} currency={cart.currency} issue={shownIssues.find((i) => i.itemId === item.id)} />
            ))}
          </ul>
          <SavedList saved={saved} currency={cart.currency} />
        </section>
        <Summary cart={cart} onCheckout={() => router.push(signedIn ? "/checkout" : "/auth?next=/checkout")} />
      </div>
    </>
  );
}

function Line({ item, currency, issue }: { item: CartItem; currency: string; issue?: ValidationIssue }) {
  const change = useCartStore((s) => s.change);
  const note = useCartStore((s) => s.lineNotes[item.id]);
  const [draft, setDraft] = useState(String(item.quantity));
  useEffect(() => setDraft(String(item.quantity)), [item.quantity]);
  const pending = item.id.startsWith("pending-");
  const max = item.maxQuantity ?? 99;
  const setQuantity = (quantity: number) => {
    if (quantity !== item.quantity) void change({ kind: "update", itemId: item.id, quantity });
  };
  const commitDraft = () => {
    const quantity = Math.floor(Number(draft));
    if (Number.isFinite(quantity) && quantity >= 0) setQuantity(quantity);
    else setDraft(String(item.quantity));
  };
  const attributes = attributeLabel(item.attributes);
  const messages = [note, issue && issue.type !== "price_changed" ? issue.message : null].filter(Boolean) as string[];

  return (
    <li data-testid="cart-line" data-product-id={item.productId} data-variant-id={item.variantId ?? ""} className="flex gap-4 py-4">
      <ProductImage name={item.name} />
      <div className="flex min-w-0 flex-1 flex-col gap-2">
        <div className="flex flex-wrap items-start justify-between gap-2">
          <div className="min-w-0">
            <h3 className="font-semibold">{item.name}</h3>
            {attributes && <p className="text-sm text-slate-700">{attributes}</p>}
            <p className="text-sm text-slate-700">
              {money(item.unitPrice, currency)} each
              {item.priceChanged && (
                <span className="ml-2 font-medium text-amber-800">
                  (was {money(item.priceAtAdd, currency)}
                  {item.priceDrop ? ", price dropped" : ", price changed"})
                </span>
              )}
            </p>
          </div>
          <p className="font-semibold" data-testid="line-total">
            {money(item.lineTotal, currency)}
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-3">
          <div className="inline-flex items-center rounded-lg border border-slate-300">
            <button
              type="button"
              data-testid="line-decrement"
              aria-label={`Decrease quantity of ${item.name}`}
              disabled={pending}
              onClick={() => setQuantity(item.quantity - 1)}
              className="p-2 disabled:text-slate-400"
            >
              <Minus aria-hidden="true" className="size-4" />
            </button>
            <input
              data-testid="line-quantity"
              aria-label={`Quantity of ${item.name}`}
              type="number"
              inputMode="numeric"
              min={0}
              max={max}
              value={draft}
              disabled={pending}
              onChange={(e) => setDraft(e.target.value)}
              onBlur={commitDraft}
              onKeyDown={(e) => {
                if (e.key === "Enter") commitDraft();
              }}
              className="w-14 border-x border-slate-300 py-1.5 text-center"
            />
            <button
              type="button"
              data-testid="line-increment"
              aria-label={`Increase quantity of ${item.name}`}
              disabled={pending || item.quantity >= max}
              onClick={() => setQuantity(item.quantity + 1)}
              className="p-2 disabled:text-slate-400"
            >
              <Plus aria-hidden="true" className="size-4" />
            </button>
          </div>
          <button
            type="button"
            data-testid="line-save"
            disabled={pending}
            onClick={() => void change({ kind: "save", itemId: item.id })}
            className="inline-flex items-center gap-1 text-sm font-medium text-slate-700 hover:text-indigo-800"
          >
            <Bookmark aria-hidden="true" className="size-4" /> Save for later
          </button>
          <button
            type="button"
            data-testid="line-remove"
            disabled={pending}
            onClick={() => void change({ kind: "remove", itemId: item.id })}
            className="inline-flex items-center gap-1 text-sm font-medium text-slate-700 hover:text-red-800"
          >
            <Trash2 aria-hidden="true" className="size-4" /> Remove
          </button>
        </div>
        {messages.map((message) => (
          <p key={message} data-testid="line-issue" role="status" className="text-sm font-medium text-red-800">
            {message}
          </p>
        ))}
        {issue?.alternatives?.length ? (
          <div className="flex flex-wrap items-center gap-2 text-sm text-slate-700">
            <span>In stock:</span>
            {issue.alternatives.map((a) => (
              <button
                key={a.variantId}
                type="button"
                data-testid="line-alternative"
                data-variant-id={a.variantId}
                disabled={pending}
                onClick={() =>
                  void change({ kind: "switch", itemId: item.id, variantId: a.variantId, attributes: a.attributes ?? {}, unitPrice: a.unitPrice })
                }
                className="rounded-full border border-slate-300 px-3 py-1 font-medium hover:bg-slate-50"
              >
                Switch to {attributeLabel(a.attributes ?? {}) || a.sku}
              </button>
            ))}
          </div>
        ) : null}
      </div>
    </li>
  );
}

const REASONS: Record<string, string> = {
  insufficient_stock: "not enough in stock",
  out_of_stock: "out of stock",
  max_quantity_per_line: "the most one line can hold",
  max_per_customer: "the most one customer may buy",
  unavailable: "no longer sold",
  requires_auth: "sign in to buy it",
  product_not_found: "no longer sold",
};

/** After an offline queue was synced: the lines that did not end as the shopper left them. */
function SyncConflicts({ conflicts, cart }: { conflicts: SyncConflict[]; cart: Cart }) {
  const dismiss = () => useCartStore.setState({ conflicts: [] });
  return (
    <div role="status" className="mb-4 rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm text-amber-950">
      <p className="mb-2 font-semibold">Some changes you made offline could not be kept as made:</p>
      <ul className="mb-2 list-disc pl-5">
        {conflicts.map((c) => {
          const line = cart.items.find((i) => i.productId === c.productId && i.variantId === c.variantId);
          const name = line?.name ?? "An item";
          const now = line?.quantity ?? 0;
          return (
            <li key={`${c.productId}-${c.variantId ?? ""}`} data-testid="sync-conflict">
              {name}: you set {c.clientQuantity}, your cart now holds {now}
              {c.reason ? ` (${REASONS[c.reason] ?? c.reason.replaceAll("_", " ")})` : ""}.
            </li>
          );
        })}
      </ul>
      <button type="button" onClick={dismiss} className="font-medium underline">
        Dismiss
      </button>
    </div>
  );
}

function SavedList({ saved, currency }: { saved: Cart["savedForLater"] & object; currency: string }) {
  const change = useCartStore((s) => s.change);
  if (!saved.length) return null;
  return (
    <section aria-labelledby="saved-heading" className="mt-8">
      <h2 id="saved-heading" className="mb-3 text-lg font-semibold">
        Saved for later
      </h2>
      <ul className="divide-y divide-slate-200 border-y border-slate-200">
        {saved.map((item) => (
          <li key={item.id} data-testid="saved-item" data-product-id={item.productId} className="flex items-center gap-4 py-3">
            <ProductImage name={item.name} className="size-14" />
            <div className="min-w-0 flex-1">
              <p className="font-medium">{item.name}</p>
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
        ))}
      </ul>
    </section>
  );
}

function Summary({ cart, onCheckout }: { cart: Cart; onCheckout: () => void }) {
  const change = useCartStore((s) => s.change);
  const discountError = useCartStore((s) => s.discountError);
  const [code, setCode] = useState("");
  const { totals } = cart;
  const remaining = totals.freeShippingRemaining ?? 0;
  const threshold = totals.subtotal - totals.discount + remaining;
  const progress = threshold > 0 ? Math.min(100, Math.round(((totals.subtotal - totals.discount) / threshold) * 100)) : 100;

  return (
    <aside aria-labelledby="summary-heading" className="h-fit rounded-xl border border-slate-200 bg-slate-50 p-5">
      <h2 id="summary-heading" className="mb-4 text-lg font-semibold">
        Order summary
      </h2>
      <div className="mb-4">
        <p className="mb-1 text-sm" id="free-shipping-label">
          {remaining > 0 ? `Add ${money(remaining, cart.currency)} more for free shipping` : "You get free shipping!"}
        </p>
        <div
          data-testid="free-shipping-progress"
          role="progressbar"
          aria-labelledby="free-shipping-label"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={progress}
          className="h-2 overflow-hidden rounded-full bg-slate-200"
        >
          <div className="h-full bg-emerald-600 transition-all" style={{ width: `${progress}%` }} />
        </div>
      </div>
      <form
        className="mb-4"
        onSubmit={(e) => {
          e.preventDefault();
          const value = code.trim();
          if (!value) return;
          void change({ kind: "applyCode", code: value }).then((ok) => ok && setCode(""));
        }}
      >
        <label htmlFor="discount-code" className="mb-1 block text-sm font-medium">
          Discount code
        </label>
        <div className="flex gap-2">
          <input
            id="discount-code"
            data-testid="discount-input"
            value={code}
            onChange={(e) => setCode(e.target.value)}
            autoComplete="off"
            aria-describedby={discountError ? "discount-error" : undefined}
            className="min-w-0 flex-1 rounded-lg border border-slate-300 bg-white px-3 py-2 uppercase"
          />
          <button type="submit" data-testid="discount-apply" className="rounded-lg bg-slate-900 px-4 py-2 text-sm font-semibold text-white hover:bg-slate-700">
            Apply
          </button>
        </div>
        {discountError && (
          <p id="discount-error" data-testid="discount-error" role="alert" className="mt-1 text-sm text-red-800">
            {discountError}
          </p>
        )}
      </form>
      {(cart.discountCodes ?? []).length > 0 && (
        <ul className="mb-4 flex flex-wrap gap-2">
          {(cart.discountCodes ?? []).map((d) => (
            <li key={d.code} data-testid="applied-code" className="inline-flex items-center gap-1 rounded-full bg-indigo-100 px-3 py-1 text-sm text-indigo-950">
              <Tag aria-hidden="true" className="size-3.5" />
              {d.code}
              {!d.applicable && <span className="text-xs"> (not applied: {d.reason})</span>}
              <button type="button" aria-label={`Remove code ${d.code}`} onClick={() => void change({ kind: "removeCode", code: d.code })} className="rounded-full p-0.5 hover:bg-indigo-200">
                <X aria-hidden="true" className="size-3.5" />
              </button>
            </li>
          ))}
        </ul>
      )}
      <dl className="space-y-2 text-sm">
        <Row label="Subtotal" testid="totals-subtotal" value={money(totals.subtotal, cart.currency)} />
        <Row label="Discount" testid="totals-discount" value={totals.discount ? `−${money(totals.discount, cart.currency)}` : money(0, cart.currency)} />
        <Row label="Shipping" testid="totals-shipping" value={totals.shipping ? money(totals.shipping, cart.currency) : "Free"} />
        <Row label={taxLabel(totals)} testid="totals-tax" value={totals.taxRate ? money(totals.tax, cart.currency) : "Calculated at checkout"} />
        <div className="flex justify-between border-t border-slate-300 pt-2 text-base font-semibold">
          <dt>Total</dt>
          <dd data-testid="totals-total">{money(totals.total, cart.currency)}</dd>
        </div>
      </dl>
      <button
        type="button"
        data-testid="checkout-button"
        onClick={onCheckout}
        className="mt-5 w-full rounded-lg bg-indigo-700 px-6 py-3 font-semibold text-white hover:bg-indigo-800"
      >
        Checkout
      </button>
    </aside>
  );
}

/** No rate for the cart's currency: the order service computes the tax. Included: part of the prices. */
function taxLabel(totals: Cart["totals"]): string {
  if (!totals.taxRate) return "Tax";
  const rate = `${(totals.taxRate / 100).toLocaleString("en-US", { maximumFractionDigits: 2 })}%`;
  return totals.taxIncluded ? `Tax included (${rate})` : `Tax (${rate})`;
}

function Row({ label, value, testid }: { label: string; value: string; testid: string }) {
  return (
    <div className="flex justify-between">
      <dt>{label}</dt>
      <dd data-testid={testid}>{value}</dd>
    </div>
  );
}
