import type { Metadata, Viewport } from "next";
import Link from "next/link";
import { cookies } from "next/headers";
import { Heart, Store } from "lucide-react";
import "./globals.css";
import { getCart } from "@/lib/actions/cart";
import { EMAIL_COOKIE, isSignedIn } from "@/lib/api/client";
import { cartOwner } from "@/lib/cart/owner";
import { pollIntervalFrom } from "@/lib/cart/polling";
import { EMPTY_CART } from "@/lib/api/types";
import { CartBadge } from "@/components/CartBadge";
import { CartDrawer } from "@/components/cart/cart-drawer";
import { CartSync } from "@/components/CartSync";
import { MergeNotice } from "@/components/MergeNotice";
import { OfflineBanner, Toasts } from "@/components/Toasts";
import { SignOutButton } from "@/components/SignOutButton";

export const metadata: Metadata = {
  title: { default: "Cart demo store", template: "%s · Cart demo store" },
  description: "The reference storefront of the serverless cart API",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const [result, signedIn, jar, owner] = await Promise.all([getCart(), isSignedIn(), cookies(), cartOwner()]);
  const cart = result.ok ? result.data : EMPTY_CART;
  const email = jar.get(EMAIL_COOKIE)?.value;
  return (
    <html lang="en">
      <body className="min-h-screen overflow-x-hidden bg-white text-slate-900 antialiased">
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2">
          Skip to content
        </a>
        <header className="border-b border-slate-200">
          <nav aria-label="Main" className="mx-auto flex max-w-6xl items-center justify-between gap-2 px-4 py-3">
            <Link href="/" className="flex items-center gap-2 font-semibold text-slate-900">
              <Store aria-hidden="true" className="size-5 text-indigo-700" />
              Demo store
            </Link>
            <div className="flex items-center gap-1 sm:gap-3">
              {signedIn ? (
                <>
                  <span className="hidden max-w-48 truncate text-sm text-slate-700 md:inline">{email}</span>
                  <SignOutButton />
                </>
              ) : (
                <Link href="/auth" className="rounded-md px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-100">
                  Sign in
                </Link>
              )}
              <Link href="/lists" data-testid="nav-lists" className="inline-flex items-center gap-2 rounded-md px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-100">
                <Heart aria-hidden="true" className="size-5" />
                <span className="sr-only sm:not-sr-only">Lists</span>
              </Link>
              <CartBadge initialCount={cart.itemCount} />
            </div>
          </nav>
        </header>
        <OfflineBanner />
        <MergeNotice />
        <main id="main" className="mx-auto max-w-6xl px-4 py-6">
          {children}
        </main>
        <CartDrawer />
        <Toasts />
        <CartSync cart={cart} signedIn={signedIn} owner={owner} pollIntervalMs={pollIntervalFrom(process.env.CART_POLL_INTERVAL_MS)} />
      </body>
    </html>
  );
}
