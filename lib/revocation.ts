import "server-only";
import { env } from "./env";
import { isSessionActive } from "./session-store";

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

export function revocationSummary(): string {
  return env.REVOCATION_MODE === "strict"
    ? "Revocation mode strict: this server looks the session up on every request, so a revoked token is refused on its next use."
    : "Revocation mode stateless: this server trusts a token until it expires, so a revoked token keeps working until exp.";
}
