import type { Metadata } from "next";
import { AuthForm } from "@/components/AuthForm";
import { safeNextPath, SESSION_ENDED } from "@/lib/auth/next-path";

export const metadata: Metadata = { title: "Sign in" };

type Props = { searchParams: Promise<{ next?: string | string[]; reason?: string | string[] }> };

export default async function AuthPage({ searchParams }: Props) {
  const { next, reason } = await searchParams;
  // Only paths of this site: never an open redirect (@/lib/auth/next-path).
  return <AuthForm next={safeNextPath(next)} sessionEnded={reason === SESSION_ENDED} />;
}
