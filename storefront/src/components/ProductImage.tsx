import { Coffee, Footprints, Frame, Package, Shirt } from "lucide-react";

const ICONS = [
  [/shirt|hoodie|tee/i, Shirt],
  [/shoe|sneaker/i, Footprints],
  [/mug|coffee|cup/i, Coffee],
  [/poster|print|art/i, Frame],
] as const;

/** The catalog names image paths but ships no files: a drawn tile stands in, labelled by name. */
export function ProductImage({ name, className = "size-20" }: { name: string; className?: string }) {
  const Icon = ICONS.find(([pattern]) => pattern.test(name))?.[1] ?? Package;
  return (
    <div role="img" aria-label={name} className={`flex shrink-0 items-center justify-center rounded-lg bg-slate-100 text-slate-500 ${className}`}>
      <Icon aria-hidden="true" className="size-1/2" />
    </div>
  );
}
