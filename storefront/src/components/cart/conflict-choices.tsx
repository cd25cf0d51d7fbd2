"use client";

import { useCartStore } from "@/store/cart.store";
import { attributeLabel } from "@/lib/format";
import type { LineConflict } from "@/lib/cart/offline";

const said = (quantity: number) => (quantity === 0 ? "removed it" : `set ${quantity}`);
const holds = (quantity: number) => (quantity === 0 ? "has removed it" : `now has ${quantity}`);
const BUTTON = {
  mine: "rounded-lg bg-slate-900 px-3 py-1.5 font-medium text-white hover:bg-slate-700",
  theirs: "rounded-lg border border-slate-400 bg-white px-3 py-1.5 font-medium hover:bg-slate-50",
};

/** Lines changed on another device while this one's change waited (offline, or left behind by a
 * closed page): the shopper keeps either side, nothing is undone silently. */
export function ConflictChoices() {
  const choices = useCartStore((s) => s.choices);
  const resolve = useCartStore((s) => s.resolveConflict);
  if (!choices.length) return null;
  return (
    <section aria-labelledby="conflicts-heading" className="mb-4 rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm text-amber-950">
      <h2 id="conflicts-heading" className="mb-2 font-semibold">
        Your cart was changed on another device
      </h2>
      <ul className="space-y-3">
        {choices.map((c: LineConflict) => {
          const attributes = attributeLabel(c.line.attributes);
          const name = attributes ? `${c.line.name} (${attributes})` : c.line.name;
          return (
            <li key={c.id} data-testid="sync-conflict" data-product-id={c.line.productId} className="flex flex-wrap items-center gap-x-4 gap-y-2">
              <p className="min-w-0 flex-1">
                {name}: you {said(c.mine)}, the other device {holds(c.theirs)}.
              </p>
              <div className="flex gap-2">
                {(["mine", "theirs"] as const).map((side) => (
                  <button
                    key={side}
                    type="button"
                    data-testid={`conflict-keep-${side}`}
                    onClick={() => resolve(c.id, side)}
                    className={BUTTON[side]}
                  >
                    Keep {side} ({side === "mine" ? c.mine : c.theirs})
                  </button>
                ))}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
