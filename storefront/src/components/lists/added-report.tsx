import type { AddedLine } from "@/lib/api/types";
import { addedReason } from "./messages";

/** What a restore or a copy put into the cart, line by line, and why a line got less than asked. */
export function AddedReport({ lines, names }: { lines: AddedLine[]; names: Record<string, string> }) {
  const whole = lines.filter((l) => l.added === l.requested).length;
  const short = lines.filter((l) => l.added < l.requested);
  return (
    <div role="status" data-testid="added-report" className="rounded-lg border border-emerald-300 bg-emerald-50 p-4 text-sm">
      <p className="font-semibold">
        {whole} of {lines.length} {lines.length === 1 ? "item" : "items"} added to your cart.
      </p>
      {short.length > 0 && (
        <ul className="mt-2 list-disc pl-5">
          {short.map((line) => (
            <li
              key={`${line.productId}-${line.variantId ?? ""}`}
              data-testid="added-line-short"
              data-product-id={line.productId}
              data-added={line.added}
            >
              {names[`${line.productId}:${line.variantId ?? ""}`] ?? "An item"}: {line.added} of {line.requested} added ({addedReason(line)})
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
