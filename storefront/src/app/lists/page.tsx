import type { Metadata } from "next";
import { getLists, getShares } from "@/lib/actions/lists";
import { ListsView } from "@/components/lists/lists-view";

export const metadata: Metadata = { title: "Your lists" };
export const dynamic = "force-dynamic";

/** The shopper's Wishlist and named lists, and the share links they have out, rendered on the server. */
export default async function ListsPage() {
  const [lists, shares] = await Promise.all([getLists(), getShares()]);
  return (
    <ListsView
      initialLists={lists.ok ? lists.data.lists : []}
      maxLists={lists.ok ? lists.data.maxLists : 20}
      initialLinks={shares.ok ? shares.data.links : []}
      problem={lists.ok ? null : lists.problem.detail}
    />
  );
}
