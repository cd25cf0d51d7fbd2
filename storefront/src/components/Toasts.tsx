"use client";

import { createPortal } from "react-dom";
import { X, WifiOff } from "lucide-react";
import { useCartStore } from "@/store/cart.store";
import { useCartDrawer } from "./cart/drawer-store";

export function Toasts() {
  const toasts = useCartStore((s) => s.toasts);
  const dismiss = useCartStore((s) => s.dismissToast);
  // While the cart drawer is open the page behind it is inert (unseen by assistive tech, not clickable):
  // the toasts render inside the drawer then.
  const slot = useCartDrawer((s) => (s.open ? s.toastSlot : null));
  const list = (
    <div aria-live="assertive" className="pointer-events-none fixed inset-x-0 bottom-4 z-50 flex flex-col items-center gap-2 px-4">
      {toasts.map((t) => (
        <div
          key={t.id}
          role="alert"
          data-testid="toast"
          className={`pointer-events-auto flex w-full max-w-md items-start gap-3 rounded-lg px-4 py-3 text-sm shadow-lg ${
            t.tone === "error" ? "bg-red-800 text-white" : "bg-slate-900 text-white"
          }`}
        >
          <p className="flex-1">{t.message}</p>
          <button type="button" onClick={() => dismiss(t.id)} aria-label="Dismiss" className="rounded p-0.5 hover:bg-white/20">
            <X aria-hidden="true" className="size-4" />
          </button>
        </div>
      ))}
    </div>
  );
  return slot ? createPortal(list, slot) : list;
}

export function OfflineBanner() {
  const offline = useCartStore((s) => s.offline);
  const queued = useCartStore((s) => s.queued.length);
  if (!offline) return null;
  return (
    <div data-testid="offline-banner" role="status" className="flex items-center justify-center gap-2 bg-amber-100 px-4 py-2 text-sm text-amber-950">
      <WifiOff aria-hidden="true" className="size-4" />
      You are offline. Changes are saved on this device{queued ? ` (${queued} waiting)` : ""} and sync when you reconnect.
    </div>
  );
}
