"use client";

import { useCartStore } from "@/store/cart.store";
import type { MergeReport } from "@/lib/api/types";

const units = (n: number) => `${n} ${n === 1 ? "item" : "items"}`;

/** "2 items from your guest cart were added; 1 was capped at the stock left". */
export function describeMerge(report: MergeReport): string {
  const carried = report.added.length + report.combined.length;
  if (report.outcome === "nothing_to_merge" || report.outcome === "already_merged") return "Welcome back! Your cart is up to date.";
  const parts = [`${units(carried)} from your guest cart ${carried === 1 ? "was" : "were"} added`];
  if (report.capped.length) parts.push(`${report.capped.length} ${report.capped.length === 1 ? "was" : "were"} capped at the stock left`);
  if (report.skipped.length) parts.push(`${report.skipped.length} could not be carried over`);
  return parts.join("; ");
}

export function MergeNotice() {
  const report = useCartStore((s) => s.mergeReport);
  const clear = useCartStore((s) => s.setMergeReport);
  if (!report) return null;
  return (
    <div role="status" className="mx-auto mt-4 flex max-w-6xl items-start justify-between gap-4 rounded-lg border border-emerald-300 bg-emerald-50 px-4 py-3 text-sm text-emerald-950">
      <p data-testid="merge-report">{describeMerge(report)}.</p>
      <button type="button" className="font-medium underline" onClick={() => clear(null)}>
        Dismiss
      </button>
    </div>
  );
}
