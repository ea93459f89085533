"use client";

import { useEffect, useState } from "react";

/**
 * "Signed in as <name>" in the header. The server renders whether a session
 * exists and its strategy; the name is asked of GET /api/me once the page is
 * up, so that an answer that fails after the header was rendered (a page
 * whose own reads fail: a server error) carries nothing of the user's.
 * Until the name is known (or if it cannot be), the line says "Signed in".
 */
export function SignedInAs({ strategyKind, strategyLabel }: { strategyKind: string; strategyLabel: string }) {
  const [name, setName] = useState<string | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    fetch("/api/me", { signal: controller.signal, credentials: "same-origin", cache: "no-store" })
      .then((response) => (response.ok ? (response.json() as Promise<{ user?: { name?: string | null; email?: string } }>) : null))
      .then((me) => setName(me?.user?.name || me?.user?.email || null))
      .catch(() => {
        // Aborted (the page went away) or unreachable: the line stays "Signed in".
      });
    return () => controller.abort();
  }, []);
  return (
    <p className="who" data-testid="signed-in-as">
      {name === null ? "Signed in" : `Signed in as ${name}`}
      <span className="visually-hidden"> with a </span>
      <span className={`strategy-badge ${strategyKind}`} data-testid="strategy-badge">
        {strategyLabel}
      </span>
    </p>
  );
}
