import "server-only";
import { env } from "../platform/env";
import { isSessionActive } from "./store";

/**
 * Whether this server still accepts a token whose signature and claims are
 * valid, given its session id (`sid`):
 *   strict    — looks the session up on every request (one primary-key read):
 *               a revoked session's tokens are refused from the next request on.
 *   stateless — no lookup: a token is trusted until its `exp`, so revocation
 *               takes effect only when the token expires.
 * Other verifiers (e.g. a downstream service holding only the public key) are
 * always stateless.
 */
export async function acceptsSession(sid: string): Promise<boolean> {
  return env.REVOCATION_MODE === "stateless" || isSessionActive(sid);
}

/** True when this server refuses a revoked token on its next use (strict mode). */
export function revocationIsImmediate(): boolean {
  return env.REVOCATION_MODE === "strict";
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
  return revocationIsImmediate()
    ? "this server looks the session up on every request, so a copy of a revoked token is refused on its next use"
    : `this server trusts a token until it expires (up to ${durationInWords(lifetimeSeconds)}), so a copy of a revoked token keeps working until then`;
}

export function revocationSummary(): string {
  return `Revocation mode ${env.REVOCATION_MODE}: ${revokedTokenFate(env.JWT_TTL_SECONDS)}.`;
}
