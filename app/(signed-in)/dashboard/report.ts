import "server-only";
import { probeRevocation, type RevocationProbe } from "@/lib/lab/probe";
import type { ClientContext } from "@/lib/security/request";
import { cookieNameFor, strategies, strategyByKind, type Evidence, type Session, type Strategy } from "@/lib/strategies";

export interface SessionReport {
  strategy: Strategy;
  evidence: Evidence;
  cookieName: string | null;
  /** Size of `name=value` as the browser sends it on every request. */
  cookieBytes: number;
  /** One fresh check of the credential (signature or lookup), timed on this server now. */
  checkMs: number;
  /** Server clock when the report was made, for countdowns. */
  generatedAt: number;
}

/** Everything the dashboard shows about the current session. */
export async function sessionReport(session: Session, https: boolean): Promise<SessionReport | null> {
  const strategy = strategyByKind(session.strategy);
  if (!strategy) return null;
  const started = performance.now();
  const stillValid = await strategy.verify(session.credential);
  const checkMs = performance.now() - started;
  if (!stillValid) return null;
  const cookieName = cookieNameFor(strategy, https);
  return {
    strategy,
    evidence: await strategy.evidence(session),
    cookieName,
    cookieBytes: Buffer.byteLength(`${cookieName ?? "Authorization: Bearer "}=${session.credential}`),
    checkMs,
    generatedAt: Date.now(),
  };
}

/**
 * Measures, on this server now, how long a stolen credential stays usable
 * after revocation: issues a throwaway one for the user (of the kind the
 * browser uses, and of every API kind), checks it, revokes it, then checks
 * again until it is refused or the probe gives up (lib/lab/probe.ts).
 */
export async function measureRevocation(session: Session, context: ClientContext): Promise<RevocationProbe[]> {
  const probed = strategies.filter((strategy) => strategy.kind === session.strategy || strategy.transport === "bearer");
  const probes: RevocationProbe[] = [];
  for (const strategy of probed) {
    const issued = await strategy.issue(session.user, context);
    const label = strategy.transport === "cookie" ? `${strategy.label} cookie` : `${strategy.label}: access token (Bearer)`;
    const check = { label, accepts: async (value: string) => (await strategy.verify(value)) !== null };
    probes.push(...(await probeRevocation(issued, [check], () => strategy.revoke(issued.value))));
  }
  return probes;
}
