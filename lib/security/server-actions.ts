import "server-only";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { log } from "../platform/log";

/**
 * Server actions this build knows, by id (from the build's server-reference
 * manifest). A POST naming any other action is a client's mistake (an old
 * page, a probe): answered 404 before Next.js handles it, because Next.js
 * logs every such request as an error with a stack trace, and any client
 * could fill the error log that way. Null when the manifest cannot be read
 * (development builds write it as they go): then nothing is filtered.
 */
let knownActions: ReadonlySet<string> | null | undefined;

function loadKnownActions(): ReadonlySet<string> | null {
  try {
    const path = join(/*turbopackIgnore: true*/ process.cwd(), ".next", "server", "server-reference-manifest.json");
    const manifest = JSON.parse(readFileSync(/*turbopackIgnore: true*/ path, "utf8")) as { node?: Record<string, unknown> };
    return new Set(Object.keys(manifest.node ?? {}));
  } catch (error) {
    log.warn("server_actions.manifest_unreadable", { error });
    return null;
  }
}

/** True when the request names a server action this build does not have. */
export function isUnknownServerAction(headers: { get(name: string): string | null }, production: boolean): boolean {
  const id = headers.get("next-action");
  if (id === null || !production) return false;
  knownActions ??= loadKnownActions();
  return knownActions !== null && !knownActions.has(id);
}
