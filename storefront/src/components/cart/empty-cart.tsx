import Link from "next/link";
import { ShoppingBag } from "lucide-react";

export function EmptyCart() {
  return (
    <div data-testid="empty-cart" className="rounded-xl border border-dashed border-slate-300 p-10 text-center">
      <ShoppingBag aria-hidden="true" className="mx-auto mb-3 size-10 text-slate-400" />
      <p className="mb-4 text-lg">Your cart is empty.</p>
      <Link href="/" className="font-semibold text-indigo-700 underline">
        Continue shopping
      </Link>
    </div>
  );
}
