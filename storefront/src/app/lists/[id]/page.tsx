import type { Metadata } from "next";
import Link from "next/link";
import { getList } from "@/lib/actions/lists";
import { ListView } from "@/components/lists/list-view";
import { listMessage } from "@/components/lists/messages";

export const metadata: Metadata = { title: "Your list" };
export const dynamic = "force-dynamic";

type Props = { params: Promise<{ id: string }> };

/** One list with each item's price and stock now beside what it had when saved. */
export default async function ListPage({ params }: Props) {
  const { id } = await params;
  const result = await getList(id);
  if (!result.ok) {
    return (
      <div className="mx-auto max-w-lg">
        <h1 className="mb-4 text-2xl font-bold">Your list</h1>
        <p role="alert" data-testid="list-problem" data-code={result.problem.code} className="mb-4 text-red-800">
          {result.problem.code === "validation_failed" ? "That list no longer exists." : listMessage(result.problem)}
        </p>
        <Link href="/lists" className="font-semibold text-indigo-700 underline">
          All your lists
        </Link>
      </div>
    );
  }
  return <ListView initialList={result.data} />;
}
