"use client";

import { useRouter } from "next/navigation";
import { signOut } from "@/lib/actions/auth";
import { useCartStore } from "@/store/cart.store";
import { EMPTY_CART } from "@/lib/api/types";

export function SignOutButton() {
  const router = useRouter();
  return (
    <button
      type="button"
      className="rounded-md px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-100"
      onClick={async () => {
        await signOut();
        useCartStore.getState().hydrate(EMPTY_CART, { signedIn: false });
        router.refresh();
      }}
    >
      Sign out
    </button>
  );
}
