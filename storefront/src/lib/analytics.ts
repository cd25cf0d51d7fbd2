import "server-only";
import { api, identityHeaders, settle } from "@/lib/api/client";
import type { components, operations } from "@/lib/api/schema";
import type { ActionResult } from "@/lib/api/types";

/** The merchant's cart analytics (`GET /admin/analytics/carts`, Cognito group `admin` only): the
 * figures of a range of UTC days, read from the API's daily rollup (docs/admin.md#cart-analytics). */
export type CartAnalytics = components["schemas"]["CartAnalytics"];
export type AnalyticsQuery = NonNullable<operations["cart_analytics_admin_analytics_carts_get"]["parameters"]["query"]>;
export type Bucket = NonNullable<AnalyticsQuery["bucket"]>;

export const BUCKETS: readonly Bucket[] = ["day", "week", "month"];
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The page's query string as the API's query: what is not a day or a bucket is left to the API's
 * defaults (a malformed day the API answers with its own problem, shown on the page). */
export function analyticsQuery(params: Record<string, string | string[] | undefined>): AnalyticsQuery {
  const one = (name: string) => (typeof params[name] === "string" ? (params[name] as string) : undefined);
  const query: AnalyticsQuery = {};
  const from = one("from");
  const to = one("to");
  const bucket = one("bucket");
  if (from && DAY.test(from)) query.from = from;
  if (to && DAY.test(to)) query.to = to;
  if (bucket && (BUCKETS as readonly string[]).includes(bucket)) query.bucket = bucket as Bucket;
  return query;
}

/** The report as the signed-in shopper's token may read it: 401 without a valid one, 403 for a user
 * outside the `admin` group. */
export async function getCartAnalytics(query: AnalyticsQuery): Promise<ActionResult<CartAnalytics>> {
  const headers = await identityHeaders();
  return settle(() => api.GET("/admin/analytics/carts", { params: { query }, headers }));
}
