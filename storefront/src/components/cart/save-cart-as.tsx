"use client";

import { useState, type FormEvent } from "react";
import Link from "next/link";
import { ListPlus } from "lucide-react";
import { saveCartAsList } from "@/lib/actions/lists";
import { withRetries } from "@/store/cart.store";
import type { ShoppingList } from "@/lib/api/types";
import { listMessage } from "../lists/messages";

/** "Save cart as…": the cart's lines kept as a named list (the cart stays as it is), to restore later. */
export function SaveCartAs() {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<ShoppingList | null>(null);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    const result = await withRetries((key) => saveCartAsList(name.trim(), { idempotencyKey: key }));
    setBusy(false);
    if (result.ok) {
      setSaved(result.data);
      setOpen(false);
      setName("");
    } else setError(listMessage(result.problem));
  };

  return (
    <div className="flex min-w-0 flex-col gap-2">
      <button
        type="button"
        data-testid="save-cart-as"
        aria-expanded={open}
        onClick={() => {
          setOpen(!open);
          setSaved(null);
        }}
        className="inline-flex items-center gap-1 self-start rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-50"
      >
        <ListPlus aria-hidden="true" className="size-4" /> Save cart as…
      </button>
      {open && (
        <form onSubmit={(e) => void submit(e)} className="flex min-w-0 flex-wrap items-end gap-2">
          <div className="flex min-w-0 flex-col">
            <label htmlFor="save-cart-as-name" className="text-sm font-medium">
              List name
            </label>
            <input
              id="save-cart-as-name"
              data-testid="save-cart-as-name"
              required
              maxLength={100}
              value={name}
              onChange={(e) => setName(e.target.value)}
              className="w-56 max-w-full rounded-lg border border-slate-300 px-3 py-1.5"
            />
          </div>
          <button
            type="submit"
            data-testid="save-cart-as-submit"
            disabled={busy || !name.trim()}
            className="rounded-lg bg-indigo-700 px-3 py-1.5 text-sm font-semibold text-white disabled:opacity-60"
          >
            Save
          </button>
        </form>
      )}
      {error && (
        <p role="alert" data-testid="save-cart-as-error" className="text-sm text-red-800">
          {error}
        </p>
      )}
      {saved && (
        <p role="status" data-testid="save-cart-as-done" className="text-sm text-emerald-800">
          Saved as{" "}
          <Link href={`/lists/${saved.id}`} className="font-semibold underline">
            {saved.name}
          </Link>
          .
        </p>
      )}
    </div>
  );
}
