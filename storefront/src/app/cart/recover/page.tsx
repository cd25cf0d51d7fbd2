import type { Metadata } from "next";
import { RecoverCartView } from "@/components/RecoverCartView";

export const metadata: Metadata = { title: "Your saved cart" };
export const dynamic = "force-dynamic";

type Props = { searchParams: Promise<{ token?: string | string[] }> };

/** A recovery link from an email or the shop's staff: the page brings the cart back on load (a
 * server action, so the guest cookie the API hands out can be set), then shows it. */
export default async function RecoverCartPage({ searchParams }: Props) {
  const { token } = await searchParams;
  return <RecoverCartView token={typeof token === "string" ? token : ""} />;
}
