import "server-only";
import { env } from "../platform/env";
import { isLive } from "./feed";
import { sessionKnownActive } from "./feed-checks";
import { isSessionActive } from "./store";

/**
 * Whether this server still accepts a token whose signature and claims are
 * valid, given its session id (`sid`):
 *   strict    — looks the session up on every request (one primary-key read):
 *               a revoked session's tokens are refused from the next request on.
 *   pushed    — no lookup: the revocation reached every instance's memory
 *               (lib/sessions/feed.ts) when it happened; while the feed is down,
 *               strict.
 *   stateless — no lookup: a token is trusted until its `exp`, so revocation
 *               takes effect only when the token expires.
 * Other verifiers (e.g. a downstream service holding only the public key) are
 * always stateless.
 */
export async function acceptsSession(sid: string): Promise<boolean> {
  if (env.REVOCATION_MODE === "stateless") return true;
  if (isLive()) return sessionKnownActive(sid);
  return isSessionActive(sid);
}

/** True when this server refuses a revoked token on its next use (strict and pushed modes). */
export function revocationIsImmediate(): boolean {
  return env.REVOCATION_MODE !== "stateless";
}

/** True when revocations reach this server's memory instead of being looked up per request. */
export function revocationIsPushed(): boolean {
  return env.REVOCATION_MODE === "pushed";
}

/** What one check of a signed token costs on this server, for page copy; `record` names what strict mode reads ("session", "family"). */
export function tokenCheck(record: string): string {
  if (revocationIsPushed()) return "signature verification + in-memory revocation list";
  return revocationIsImmediate() ? `signature verification + ${record} lookup` : "signature verification";
}

/** "1 hour", "10 minutes", "45 seconds": a lifetime in words, for page copy. */
export function durationInWords(seconds: number): string {
  const units: [number, string][] = [
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${name}${count === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}

/**
 * What happens to a copy of a revoked token on this server, in one sentence
 * for the pages; `lifetimeSeconds` is the token kind's own lifetime.
 */
export function revokedTokenFate(lifetimeSeconds: number): string {
  if (revocationIsPushed())
    return "every revocation is pushed to every instance of this server, which keeps the revoked sessions in memory, so a copy of a revoked token is refused on its next use without a lookup";
  return revocationIsImmediate()
    ? "this server looks the session up on every request, so a copy of a revoked token is refused on its next use"
    : `this server trusts a token until it expires (up to ${durationInWords(lifetimeSeconds)}), so a copy of a revoked token keeps working until then`;
}

export function revocationSummary(): string {
  return `Revocation mode ${env.REVOCATION_MODE}: ${revokedTokenFate(env.JWT_TTL_SECONDS)}.`;
}
