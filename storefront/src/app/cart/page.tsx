import type { Metadata } from "next";
import { validateCart } from "@/lib/actions/cart";
import { isSignedIn } from "@/lib/api/client";
import { EMPTY_CART } from "@/lib/api/types";
import { CartView } from "@/components/CartView";
import { CartPolling } from "@/components/cart/cart-polling";

export const metadata: Metadata = { title: "Your cart" };
export const dynamic = "force-dynamic";

/** Rendered on the server with the cart and its validation issues (no flash of an empty cart);
 * CartView then hydrates the store with the same cart. */
export default async function CartPage() {
  const [result, signedIn] = await Promise.all([validateCart(), isSignedIn()]);
  const cart = result.ok ? result.data.cart : EMPTY_CART;
  const issues = result.ok ? result.data.issues : [];
  return (
    <>
      <CartView initialCart={cart} initialIssues={issues} signedIn={signedIn} />
      <CartPolling />
    </>
  );
}
