import "server-only";
import { cache } from "react";
import { apiUrl } from "@/lib/api/client";
import type { components } from "@/lib/api/schema";

/** The catalog as the API's public route serves it (GET /catalog/products, GET /catalog/products/{slug}),
 * the same locally and in AWS; CATALOG_URL may point at a CDN in front of it. Prices are minor units and
 * availableStock is what open checkouts leave; the cart re-prices and re-checks every line anyway. */
export type Product = components["schemas"]["CatalogProduct"];
export type Variant = components["schemas"]["CatalogVariant"];
type Page = components["schemas"]["CatalogPage"];

const catalogUrl = () => (process.env.CATALOG_URL ?? `${apiUrl()}/catalog`).replace(/\/$/, "");

async function read<T>(path: string): Promise<T | undefined> {
  const response = await fetch(`${catalogUrl()}${path}`, { cache: "no-store" });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`The catalog answered ${response.status}`);
  return (await response.json()) as T;
}

/** Every active product, page by page (once per request: metadata and page share it). */
export const listProducts = cache(async (): Promise<Product[]> => {
  const products: Product[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : "?limit=100";
    const page: Page | undefined = await read<Page>(`/products${query}`);
    if (!page) break;
    products.push(...page.products);
    cursor = page.nextCursor ?? null;
  } while (cursor);
  return products.sort((a, b) => a.name.localeCompare(b.name));
});

export const findProduct = cache(async (slug: string): Promise<Product | undefined> =>
  read<Product>(`/products/${encodeURIComponent(slug)}`),
);

/** In stock at all: the product itself, or any of its variants. */
export function inStock(product: Product): boolean {
  return product.availableStock > 0;
}
