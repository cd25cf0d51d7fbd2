import Link from "next/link";

/** A line's name, linking to its product page. A line queued before the API named slugs has none: plain text. */
export function ProductLink({ slug, className, children }: { slug?: string; className?: string; children: React.ReactNode }) {
  if (!slug) return <>{children}</>;
  return (
    <Link href={`/products/${encodeURIComponent(slug)}`} prefetch={false} data-testid="line-link" className={className}>
      {children}
    </Link>
  );
}
