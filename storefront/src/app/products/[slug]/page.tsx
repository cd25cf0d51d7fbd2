import { notFound } from "next/navigation";
import type { Metadata } from "next";
import { findProduct } from "@/lib/catalog";
import { AddToCart } from "@/components/AddToCart";
import { ProductImage } from "@/components/ProductImage";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ slug: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const product = await findProduct((await params).slug);
  return { title: product?.name ?? "Not found" };
}

export default async function ProductPage({ params }: Props) {
  const product = await findProduct((await params).slug);
  if (!product) notFound();
  return (
    <div className="grid gap-8 md:grid-cols-2">
      <ProductImage name={product.name} imageUrl={product.imageUrl} size={448} className="aspect-square h-auto w-full max-w-md" loading="hero" />
      <div>
        <h1 className="text-3xl font-bold">{product.name}</h1>
        <AddToCart product={product} />
      </div>
    </div>
  );
}
