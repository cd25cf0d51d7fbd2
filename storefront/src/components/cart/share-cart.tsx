"use client";

import { useState } from "react";
import { Share2 } from "lucide-react";
import { shareCart } from "@/lib/actions/lists";
import { withRetries } from "@/store/cart.store";
import type { ShareLink } from "@/lib/api/types";
import { listMessage } from "../lists/messages";
import { ShareLinkBox } from "../lists/share-link-box";

/** "Share cart": a read-only link to the cart's lines as they are now, to copy and send. */
export function ShareCart() {
  const [busy, setBusy] = useState(false);
  const [link, setLink] = useState<ShareLink | null>(null);
  const [error, setError] = useState<string | null>(null);

  const share = async () => {
    setBusy(true);
    setError(null);
    const result = await withRetries((key) => shareCart({ idempotencyKey: key }));
    setBusy(false);
    if (result.ok) setLink(result.data);
    else setError(listMessage(result.problem));
  };

  return (
    <div className="flex min-w-0 flex-col gap-2">
      <button
        type="button"
        data-testid="share-cart"
        disabled={busy}
        onClick={() => void share()}
        className="inline-flex items-center gap-1 self-start rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 disabled:opacity-60"
      >
        <Share2 aria-hidden="true" className="size-4" /> Share cart
      </button>
      {link && <ShareLinkBox link={link} label="Anyone with this link can see these items and add them to their cart" />}
      {error && (
        <p role="alert" data-testid="share-cart-error" className="text-sm text-red-800">
          {error}
        </p>
      )}
    </div>
  );
}
