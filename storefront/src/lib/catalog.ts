import "server-only";
import { cache } from "react";
import { apiUrl } from "@/lib/api/client";

/** The catalog as the local stack's `/products` serves it (a catalog service's job in production:
 * CATALOG_URL points there). Prices are minor units; the cart API re-prices every line anyway. */
export interface Variant {
  id: string;
  sku: string;
  price: number;
  stock: number;
  active: boolean;
  attributes: Record<string, string>;
}

export interface Product {
  id: string;
  name: string;
  slug: string;
  price: number;
  currency: string;
  stock: number;
  active: boolean;
  variants: Variant[];
}

/** Once per request (metadata and page share it). */
export const listProducts = cache(async (): Promise<Product[]> => {
  const base = (process.env.CATALOG_URL ?? `${apiUrl()}/products`).replace(/\/$/, "");
  const response = await fetch(base, { cache: "no-store" });
  if (!response.ok) throw new Error(`The catalog answered ${response.status}`);
  const { products } = (await response.json()) as { products: Product[] };
  return products.filter((p) => p.active).sort((a, b) => a.name.localeCompare(b.name));
});

export async function findProduct(slug: string): Promise<Product | undefined> {
  return (await listProducts()).find((p) => p.slug === slug);
}

/** In stock at all: the product itself, or any active variant. */
export function inStock(product: Product): boolean {
  return product.variants.length ? product.variants.some((v) => v.active && v.stock > 0) : product.stock > 0;
}
