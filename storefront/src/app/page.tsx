import Link from "next/link";
import { inStock, listProducts } from "@/lib/catalog";
import { money } from "@/lib/format";
import { ProductImage } from "@/components/ProductImage";

export const dynamic = "force-dynamic";

export default async function CatalogPage() {
  const products = await listProducts();
  return (
    <>
      <h1 className="mb-6 text-2xl font-bold">Shop</h1>
      <ul className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
        {products.map((product, index) => {
          const prices = product.variants.length ? product.variants.map((v) => v.price) : [product.price];
          const from = Math.min(...prices);
          return (
            <li key={product.id} data-testid="product-card" data-product-id={product.id}>
              <Link
                href={`/products/${product.slug}`}
                prefetch={false}
                className="flex h-full items-center gap-4 rounded-xl border border-slate-200 p-4 hover:border-indigo-400 hover:shadow-sm focus-visible:outline-2 focus-visible:outline-indigo-600"
              >
                {/* the first row is above the fold at every width */}
                <ProductImage name={product.name} imageUrl={product.imageUrl} loading={index < 3 ? "eager" : "lazy"} />
                <div className="min-w-0">
                  <h2 className="font-semibold">{product.name}</h2>
                  <p className="text-slate-700">
                    {prices.length > 1 && new Set(prices).size > 1 ? "From " : ""}
                    {money(from, product.currency)}
                  </p>
                  {!inStock(product) && <p className="text-sm font-medium text-red-700">Out of stock</p>}
                </div>
              </Link>
            </li>
          );
        })}
      </ul>
    </>
  );
}
