import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { ShieldAlert } from "lucide-react";
import { isSignedIn } from "@/lib/api/client";
import { analyticsQuery, getCartAnalytics } from "@/lib/analytics";
import { AnalyticsView, RangeForm } from "@/components/analytics/AnalyticsView";

export const metadata: Metadata = { title: "Cart analytics" };
export const dynamic = "force-dynamic";

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/** The merchant's cart analytics: for the shop's administrators (the Cognito group `admin`). A
 * visitor is sent to sign in; a signed-in shopper outside the group is told they may not see it. */
export default async function CartAnalyticsPage({ searchParams }: Props) {
  if (!(await isSignedIn())) redirect("/auth?next=/admin/analytics");
  const query = analyticsQuery(await searchParams);
  const result = await getCartAnalytics(query);
  if (result.ok) return <AnalyticsView report={result.data} />;
  if (result.status === 403) {
    return (
      <div data-testid="analytics-forbidden" className="mx-auto max-w-lg rounded-xl border border-amber-300 bg-amber-50 p-6">
        <ShieldAlert aria-hidden="true" className="mb-2 size-8 text-amber-800" />
        <h1 className="mb-2 text-2xl font-bold">Not allowed</h1>
        <p className="mb-4">Cart analytics are for the shop&apos;s administrators. Your account is not one of them.</p>
        <Link href="/" className="font-semibold text-indigo-700 underline">
          Back to the shop
        </Link>
      </div>
    );
  }
  if (result.status === 401) redirect("/auth?next=/admin/analytics");
  return (
    <div className="mx-auto max-w-3xl">
      <h1 className="mb-4 text-2xl font-bold">Cart analytics</h1>
      <RangeForm from={query.from ?? ""} to={query.to ?? ""} bucket={query.bucket ?? "day"} />
      <p role="alert" data-testid="analytics-problem" className="mt-4 text-red-800">
        {result.problem.detail}
      </p>
    </div>
  );
}
