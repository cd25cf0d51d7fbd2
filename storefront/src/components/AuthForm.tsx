"use client";

import { useState } from "react";
import { useRouter } from "next/navigation";
import { confirmSignUp, signIn, signUp, type AuthResult } from "@/lib/actions/auth";
import { useCartStore } from "@/store/cart.store";

type Mode = "signin" | "signup" | "confirm";

/** `next`: where to go once signed in (already checked to be a path of this site); `sessionEnded`:
 * the shopper was sent here because their session ended (a refused refresh or bearer). */
export function AuthForm({ next, sessionEnded = false }: { next: string; sessionEnded?: boolean }) {
  const router = useRouter();
  const [mode, setMode] = useState<Mode>("signin");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const done = (result: AuthResult) => {
    if (!result.ok) {
      if (result.needsConfirmation) {
        setMode("confirm");
        setInfo(result.message);
        setError(null);
      } else setError(result.message);
      return;
    }
    const store = useCartStore.getState();
    if (result.cart) store.hydrate(result.cart, { signedIn: true });
    store.setMergeReport(result.merge);
    router.push(next);
    router.refresh();
  };

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "signin") done(await signIn(email, password));
      else if (mode === "signup") done(await signUp(email, password));
      else done(await confirmSignUp(email, password, code));
    } catch {
      setError("Sign-in is unavailable right now. Please try again.");
    } finally {
      setBusy(false);
    }
  };

  const title = mode === "signin" ? "Sign in" : mode === "signup" ? "Create an account" : "Confirm your email";
  return (
    <div className="mx-auto max-w-sm">
      <h1 className="mb-2 text-2xl font-bold">{title}</h1>
      {sessionEnded && (
        <p role="status" data-testid="auth-session-ended" className="mb-3 rounded-lg bg-amber-50 px-3 py-2 text-sm font-medium text-amber-900">
          Your session ended — sign in again.
        </p>
      )}
      <p className="mb-6 text-sm text-slate-700">Your cart comes with you: anything you added as a guest is kept.</p>
      <form onSubmit={submit} data-next={next} className="space-y-4" aria-describedby={error ? "auth-error" : undefined}>
        <div>
          <label htmlFor="email" className="mb-1 block text-sm font-medium">
            Email
          </label>
          <input
            id="email"
            data-testid="auth-email"
            type="email"
            autoComplete="email"
            required
            readOnly={mode === "confirm"}
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            className="w-full rounded-lg border border-slate-300 px-3 py-2"
          />
        </div>
        <div>
          <label htmlFor="password" className="mb-1 block text-sm font-medium">
            Password
          </label>
          <input
            id="password"
            data-testid="auth-password"
            type="password"
            autoComplete={mode === "signin" ? "current-password" : "new-password"}
            required
            readOnly={mode === "confirm"}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            className="w-full rounded-lg border border-slate-300 px-3 py-2"
          />
        </div>
        {mode === "confirm" && (
          <div>
            <label htmlFor="code" className="mb-1 block text-sm font-medium">
              Confirmation code
            </label>
            <input
              id="code"
              data-testid="auth-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              required
              value={code}
              onChange={(e) => setCode(e.target.value)}
              className="w-full rounded-lg border border-slate-300 px-3 py-2"
            />
          </div>
        )}
        {info && (
          <p role="status" className="text-sm text-slate-700">
            {info}
          </p>
        )}
        {error && (
          <p id="auth-error" role="alert" data-testid="auth-error" className="text-sm text-red-800">
            {error}
          </p>
        )}
        <button
          type="submit"
          data-testid="auth-submit"
          disabled={busy}
          className="w-full rounded-lg bg-indigo-700 px-6 py-3 font-semibold text-white hover:bg-indigo-800 disabled:bg-slate-500"
        >
          {busy ? "Please wait…" : mode === "signup" ? "Create account" : mode === "confirm" ? "Confirm and sign in" : "Sign in"}
        </button>
      </form>
      {mode !== "confirm" && (
        <button
          type="button"
          data-testid="auth-mode-toggle"
          onClick={() => {
            setMode(mode === "signin" ? "signup" : "signin");
            setError(null);
          }}
          className="mt-4 text-sm font-medium text-indigo-800 underline"
        >
          {mode === "signin" ? "New here? Create an account" : "Already have an account? Sign in"}
        </button>
      )}
    </div>
  );
}
