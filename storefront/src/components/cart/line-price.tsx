import { money } from "@/lib/format";
import type { CartItem } from "@/lib/api/types";

/** The unit price (what it was when added, if it has changed since, is the line's price issue: LineIssues). */
export function LinePrice({ item, currency }: { item: CartItem; currency: string }) {
  return <p className="text-sm text-slate-700">{money(item.unitPrice, currency)} each</p>;
}
