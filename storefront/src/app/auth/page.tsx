import type { Metadata } from "next";
import { AuthForm } from "@/components/AuthForm";

export const metadata: Metadata = { title: "Sign in" };

type Props = { searchParams: Promise<{ next?: string }> };

export default async function AuthPage({ searchParams }: Props) {
  const { next } = await searchParams;
  // Only paths of this site: never an open redirect.
  const target = next && next.startsWith("/") && !next.startsWith("//") ? next : "/cart";
  return <AuthForm next={target} />;
}
