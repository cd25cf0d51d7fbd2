import type { Metadata } from "next";
import { getSharedCart } from "@/lib/actions/lists";
import { SharedCartView } from "@/components/lists/shared-cart-view";

// The link is the token: never sent on to another site as a referrer.
export const metadata: Metadata = { title: "A shared cart", referrer: "no-referrer" };
export const dynamic = "force-dynamic";

type Props = { params: Promise<{ token: string }> };

/** What a share link shows, read on the server with no identity (the API's route is public), and
 * "Add all to my cart", which adds to this browser's own cart. */
export default async function SharedCartPage({ params }: Props) {
  const { token } = await params;
  const result = await getSharedCart(token);
  return <SharedCartView token={token} shared={result.ok ? result.data : null} problem={result.ok ? null : result.problem} />;
}
