import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { isSignedIn } from "@/lib/api/client";
import { CheckoutView } from "@/components/CheckoutView";
import { demoPaymentsEnabled } from "@/lib/actions/orders";

export const metadata: Metadata = { title: "Checkout" };
export const dynamic = "force-dynamic";

export default async function CheckoutPage() {
  if (!(await isSignedIn())) redirect("/auth?next=/checkout");
  return <CheckoutView demoPayments={await demoPaymentsEnabled()} />;
}
