"use client";

import { useState, type FormEvent } from "react";
import Link from "next/link";
import { Heart, List, Trash2 } from "lucide-react";
import { createList, deleteList, revokeShare } from "@/lib/actions/lists";
import { withRetries } from "@/store/cart.store";
import type { ListSummary, ShareLink } from "@/lib/api/types";
import { listMessage } from "./messages";

interface Props {
  initialLists: ListSummary[];
  maxLists: number;
  initialLinks: ShareLink[];
  problem: string | null;
}

/** /lists: the Wishlist first, then the named lists; a new list; the share links the shopper has out. */
export function ListsView({ initialLists, maxLists, initialLinks, problem }: Props) {
  const [lists, setLists] = useState(initialLists);
  const [links, setLinks] = useState(initialLinks);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(problem);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    const result = await withRetries((key) => createList(name.trim(), { idempotencyKey: key }));
    setBusy(false);
    if (result.ok) {
      const made = result.data;
      const summary: ListSummary = {
        id: made.id, name: made.name, isDefault: made.isDefault, version: made.version, itemCount: made.itemCount,
        createdAt: made.createdAt, updatedAt: made.updatedAt,
      };
      setLists([...lists, summary]);
      setName("");
      setError(null);
    } else setError(listMessage(result.problem));
  };

  const remove = async (list: ListSummary) => {
    const result = await withRetries((key) => deleteList(list.id, { idempotencyKey: key }));
    if (result.ok) {
      setLists(result.data.lists);
      setLinks(links.filter((l) => l.listId !== list.id));
    } else setError(listMessage(result.problem));
  };

  const revoke = async (link: ShareLink) => {
    const result = await withRetries((key) => revokeShare(link.shareId, { idempotencyKey: key }));
    if (result.ok) setLinks(result.data.links);
    else setError(listMessage(result.problem));
  };

  return (
    <>
      <h1 className="mb-6 text-2xl font-bold">Your lists</h1>
      {error && (
        <p role="alert" data-testid="lists-error" className="mb-4 text-red-800">
          {error}
        </p>
      )}
      {lists.length === 0 ? (
        <p data-testid="lists-empty" className="mb-6 text-slate-700">
          No lists yet. Use “Move to wishlist” on a cart line, or “Save cart as…”, to keep things for later.
        </p>
      ) : (
        <ul className="mb-8 divide-y divide-slate-200 border-y border-slate-200">
          {lists.map((list) => (
            <li key={list.id} data-testid="list-summary" data-list-id={list.id} className="flex items-center gap-3 py-3">
              {list.isDefault ? (
                <Heart aria-hidden="true" className="size-5 shrink-0 text-rose-700" />
              ) : (
                <List aria-hidden="true" className="size-5 shrink-0 text-slate-600" />
              )}
              <div className="min-w-0 flex-1">
                <Link href={`/lists/${list.id}`} data-testid="list-link" className="font-semibold text-indigo-800 underline">
                  {list.name}
                </Link>
                <p className="text-sm text-slate-700">
                  {list.itemCount} {list.itemCount === 1 ? "item" : "items"}
                  {list.isDefault ? " · your Wishlist" : ""}
                </p>
              </div>
              <button
                type="button"
                data-testid="list-delete"
                onClick={() => void remove(list)}
                aria-label={`Delete the list ${list.name}`}
                className="rounded-lg p-2 text-slate-700 hover:bg-slate-100"
              >
                <Trash2 aria-hidden="true" className="size-4" />
              </button>
            </li>
          ))}
        </ul>
      )}

      <form onSubmit={(e) => void create(e)} className="mb-10 flex flex-wrap items-end gap-2">
        <div className="flex min-w-0 flex-col">
          <label htmlFor="new-list-name" className="text-sm font-medium">
            New list
          </label>
          <input
            id="new-list-name"
            data-testid="list-create-name"
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
            className="w-64 max-w-full rounded-lg border border-slate-300 px-3 py-2"
          />
        </div>
        <button
          type="submit"
          data-testid="list-create"
          disabled={busy || !name.trim() || lists.length >= maxLists}
          className="rounded-lg bg-indigo-700 px-4 py-2 font-semibold text-white disabled:opacity-60"
        >
          Create list
        </button>
      </form>

      <section aria-labelledby="links-heading">
        <h2 id="links-heading" className="mb-3 text-lg font-semibold">
          Your share links
        </h2>
        {links.length === 0 ? (
          <p className="text-slate-700">You are not sharing anything.</p>
        ) : (
          <ul className="divide-y divide-slate-200 border-y border-slate-200">
            {links.map((link) => (
              <li key={link.shareId} data-testid="share-link" className="flex flex-wrap items-center gap-3 py-3">
                <div className="min-w-0 flex-1">
                  <p className="font-medium">{link.kind === "list" ? `The list ${link.name}` : "Your cart, as you shared it"}</p>
                  <a href={link.url ?? link.path} className="block truncate text-sm text-indigo-800 underline">
                    Open the shared page
                  </a>
                  <p className="text-sm text-slate-700">
                    Works until {new Date(link.expiresAt).toLocaleDateString("en-US", { month: "short", day: "numeric" })}
                  </p>
                </div>
                <button
                  type="button"
                  data-testid="share-revoke"
                  onClick={() => void revoke(link)}
                  className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-50"
                >
                  Stop sharing
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
