"use client";

import { useState } from "react";
import { Copy } from "lucide-react";
import type { ShareLink } from "@/lib/api/types";

/** A link to copy: the storefront's own page for it, on this site's origin. */
export function shareUrl(link: ShareLink): string {
  return link.url ?? `${window.location.origin}${link.path}`;
}

export function ShareLinkBox({ link, label }: { link: ShareLink; label: string }) {
  const [copied, setCopied] = useState(false);
  const url = shareUrl(link);
  const inputId = `share-${link.shareId}`;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      (document.getElementById(inputId) as HTMLInputElement | null)?.select(); // no clipboard: select it for Ctrl+C
    }
    setCopied(true);
  };
  const expires = new Date(link.expiresAt).toLocaleDateString("en-US", { month: "short", day: "numeric" });
  return (
    <div className="flex w-full flex-col gap-2">
      <label htmlFor={inputId} className="text-sm font-medium">
        {label} <span className="font-normal text-slate-700">(read-only, works until {expires})</span>
      </label>
      <div className="flex min-w-0 gap-2">
        <input
          id={inputId}
          readOnly
          value={url}
          data-testid="share-link-url"
          onFocus={(e) => e.currentTarget.select()}
          className="min-w-0 flex-1 rounded-lg border border-slate-300 px-3 py-2 text-sm"
        />
        <button
          type="button"
          data-testid="share-link-copy"
          onClick={() => void copy()}
          className="inline-flex shrink-0 items-center gap-1 rounded-lg border border-slate-300 px-3 py-2 text-sm font-medium hover:bg-slate-50"
        >
          <Copy aria-hidden="true" className="size-4" /> Copy link
        </button>
      </div>
      <p role="status" className="text-sm text-emerald-800">
        {copied ? "Link copied." : ""}
      </p>
    </div>
  );
}
