/**
 * The optimistic view: what the cart looks like with the shopper's changes applied before the API
 * answers. `applyIntent` is pure (the server's cart plus an intent gives the cart to show), so a
 * change that is refused rolls back simply by no longer being applied.
 */
import type { Cart, CartItem } from "@/lib/api/types";

/** What the shopper did, as the engine records, shows and sends it. */
export type Intent =
  | {
      kind: "add";
      productId: string;
      variantId: string | null;
      quantity: number;
      // slug and imageUrl: optional, as an intent recorded by an older page may lack them
      preview: { name: string; slug?: string; imageUrl?: string | null; unitPrice: number; attributes: Record<string, string> };
    }
  | { kind: "update"; itemId: string; quantity: number }
  | { kind: "switch"; itemId: string; variantId: string; attributes: Record<string, unknown>; unitPrice: number }
  | { kind: "remove"; itemId: string }
  | { kind: "clear" }
  | { kind: "save"; itemId: string }
  | { kind: "restore"; savedId: string }
  | { kind: "applyCode"; code: string }
  | { kind: "removeCode"; code: string }
  /** The changed lines' current prices accepted, each at the price the shopper was shown. */
  | { kind: "acceptPrices"; items: { itemId: string; unitPrice: number }[] };

/** A cart line as the engine remembers it across reloads: which product (line ids can be a
 * placeholder until the API answers) and enough to name it or add it again. */
export interface LineRef {
  productId: string;
  variantId: string | null;
  name: string;
  slug?: string;
  imageUrl?: string | null;
  unitPrice: number;
  attributes: Record<string, string>;
}

export const sameLine = (a: { productId: string; variantId?: string | null }, b: { productId: string; variantId?: string | null }) =>
  a.productId === b.productId && (a.variantId ?? null) === (b.variantId ?? null);

export const findLine = (cart: Cart, ref: { productId: string; variantId?: string | null }): CartItem | undefined =>
  cart.items.find((i) => sameLine(i, ref));

export const refOf = (item: CartItem): LineRef => ({
  productId: item.productId,
  variantId: item.variantId ?? null,
  name: item.name,
  slug: item.slug,
  imageUrl: item.imageUrl,
  unitPrice: item.unitPrice,
  attributes: item.attributes as Record<string, string>,
});

export function withTotals(cart: Cart): Cart {
  const subtotal = cart.items.reduce((sum, item) => sum + item.unitPrice * item.quantity, 0);
  const itemCount = cart.items.reduce((sum, item) => sum + item.quantity, 0);
  const delta = subtotal - cart.subtotal;
  const total = Math.max(0, cart.totals.total + delta);
  return { ...cart, subtotal, itemCount, totals: { ...cart.totals, subtotal, total } };
}

export function applyIntent(cart: Cart, intent: Intent): Cart {
  switch (intent.kind) {
    case "add": {
      const existing = findLine(cart, intent);
      const items = existing
        ? cart.items.map((i) => (i === existing ? { ...i, quantity: i.quantity + intent.quantity, lineTotal: i.unitPrice * (i.quantity + intent.quantity) } : i))
        : [
            ...cart.items,
            {
              id: `pending-${intent.productId}-${intent.variantId ?? ""}`,
              productId: intent.productId,
              variantId: intent.variantId,
              sku: null,
              name: intent.preview.name,
              slug: intent.preview.slug ?? "",
              imageUrl: intent.preview.imageUrl ?? null,
              attributes: intent.preview.attributes,
              quantity: intent.quantity,
              unitPrice: intent.preview.unitPrice,
              priceAtAdd: intent.preview.unitPrice,
              priceChanged: false,
              priceDrop: false,
              lineTotal: intent.preview.unitPrice * intent.quantity,
              available: true,
              maxQuantity: 99,
            } as CartItem,
          ];
      return withTotals({ ...cart, items });
    }
    case "update":
      if (intent.quantity <= 0) return applyIntent(cart, { kind: "remove", itemId: intent.itemId });
      return withTotals({
        ...cart,
        items: cart.items.map((i) => (i.id === intent.itemId ? { ...i, quantity: intent.quantity, lineTotal: i.unitPrice * intent.quantity } : i)),
      });
    case "switch":
      return withTotals({
        ...cart,
        items: cart.items.map((i) =>
          i.id === intent.itemId
            ? { ...i, variantId: intent.variantId, attributes: intent.attributes, unitPrice: intent.unitPrice, lineTotal: intent.unitPrice * i.quantity }
            : i,
        ),
      });
    case "remove":
      return withTotals({ ...cart, items: cart.items.filter((i) => i.id !== intent.itemId) });
    case "clear":
      return withTotals({ ...cart, items: [], discountCodes: [] });
    case "save": {
      const line = cart.items.find((i) => i.id === intent.itemId);
      if (!line) return cart;
      const saved = {
        id: `pending-saved-${line.id}`,
        productId: line.productId,
        variantId: line.variantId,
        sku: line.sku,
        name: line.name,
        slug: line.slug,
        imageUrl: line.imageUrl,
        attributes: line.attributes,
        quantity: line.quantity,
        unitPrice: line.unitPrice,
        priceAtSave: line.unitPrice,
        priceDropped: false,
        backInStock: false,
        available: true,
      };
      return withTotals({ ...cart, items: cart.items.filter((i) => i !== line), savedForLater: [...(cart.savedForLater ?? []), saved] });
    }
    case "restore": {
      const saved = (cart.savedForLater ?? []).find((s) => s.id === intent.savedId);
      if (!saved) return cart;
      const rest = { ...cart, savedForLater: (cart.savedForLater ?? []).filter((s) => s !== saved) };
      return applyIntent(rest, {
        kind: "add",
        productId: saved.productId,
        variantId: saved.variantId,
        quantity: saved.quantity,
        preview: { name: saved.name, slug: saved.slug, imageUrl: saved.imageUrl, unitPrice: saved.unitPrice, attributes: saved.attributes as Record<string, string> },
      });
    }
    case "applyCode":
    case "removeCode":
      return cart; // totals depend on the code's rules: shown when the API answers
    case "acceptPrices": {
      const accepted = new Map(intent.items.map((i) => [i.itemId, i.unitPrice]));
      return {
        ...cart,
        items: cart.items.map((i) =>
          accepted.get(i.id) === i.unitPrice ? { ...i, priceAtAdd: i.unitPrice, priceChanged: false, priceDrop: false } : i,
        ),
      };
    }
  }
}

/** The server's cart with the intents still on their way applied, in the order they were made. */
export const viewOf = (confirmed: Cart, intents: Intent[]): Cart => intents.reduce(applyIntent, confirmed);
