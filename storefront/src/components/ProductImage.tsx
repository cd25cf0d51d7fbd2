import Image from "next/image";
import { Coffee, Footprints, Frame, Package, Shirt } from "lucide-react";

const ICONS = [
  [/shirt|hoodie|tee/i, Shirt],
  [/shoe|sneaker/i, Footprints],
  [/mug|coffee|cup/i, Coffee],
  [/poster|print|art/i, Frame],
] as const;

interface Props {
  name: string;
  /** The catalog's image_url; null: a drawn tile stands in, labelled by name. */
  imageUrl?: string | null;
  /** The size it is shown at, CSS px: the width and height the page reserves before the image arrives. */
  size?: number;
  className?: string;
  /** Above the fold: fetched at once. The product page's hero also preloads (its LCP); the rest load lazily. */
  loading?: "hero" | "eager" | "lazy";
}

/** A product's picture. The catalog's images are small, pre-sized files (the demo's: storefront/public/img/),
 * so next.config keeps `images.unoptimized` and next/image only sizes and schedules them. */
export function ProductImage({ name, imageUrl, size = 80, className = "size-20", loading = "lazy" }: Props) {
  if (imageUrl) {
    return (
      <Image
        src={imageUrl}
        alt={name}
        width={size}
        height={size}
        data-testid="product-image"
        className={`shrink-0 rounded-lg bg-slate-100 object-cover ${className}`}
        {...(loading === "hero" ? { preload: true, fetchPriority: "high" as const } : { loading })}
      />
    );
  }
  const Icon = ICONS.find(([pattern]) => pattern.test(name))?.[1] ?? Package;
  return (
    <div role="img" aria-label={name} data-testid="product-image-fallback" className={`flex shrink-0 items-center justify-center rounded-lg bg-slate-100 text-slate-500 ${className}`}>
      <Icon aria-hidden="true" className="size-1/2" />
    </div>
  );
}
