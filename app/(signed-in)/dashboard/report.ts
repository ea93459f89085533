import "server-only";
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

export interface RevocationProbe {
  credential: string;
  /** Accepted right after it was issued (the control). */
  acceptedBefore: boolean;
  /** Milliseconds from revocation until the first refusal; null if still accepted when probing stopped. */
  refusedAfterMs: number | null;
  /** How long probing went on. */
  probedForMs: number;
  /** When the credential expires on its own. */
  expires: string;
}

const PROBE_FOR_MS = 1500;
const PROBE_EVERY_MS = 100;

async function probe(
  credential: string,
  issue: () => Promise<{ value: string; expires: Date }>,
  check: (value: string) => Promise<boolean>,
  revoke: (value: string) => Promise<unknown>,
): Promise<RevocationProbe> {
  const issued = await issue();
  const acceptedBefore = await check(issued.value);
  const started = performance.now();
  await revoke(issued.value);
  let refusedAfterMs: number | null = null;
  while (performance.now() - started < PROBE_FOR_MS) {
    if (!(await check(issued.value))) {
      refusedAfterMs = performance.now() - started;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
  }
  return { credential, acceptedBefore, refusedAfterMs, probedForMs: Math.round(performance.now() - started), expires: issued.expires.toISOString() };
}

/**
 * Measures, on this server now, how long a stolen credential stays usable
 * after revocation: issues a throwaway one for the user (of the kind the
 * browser uses, and of every API kind), checks it, revokes it, then checks
 * again until it is refused or the probe gives up.
 */
export async function measureRevocation(session: Session, context: ClientContext): Promise<RevocationProbe[]> {
  const probed = strategies.filter((strategy) => strategy.kind === session.strategy || strategy.transport === "bearer");
  const probes: RevocationProbe[] = [];
  for (const strategy of probed) {
    probes.push(
      await probe(
        strategy.transport === "cookie" ? `${strategy.label} cookie` : `${strategy.label}: access token (Bearer)`,
        () => strategy.issue(session.user, context),
        async (value) => (await strategy.verify(value)) !== null,
        (value) => strategy.revoke(value),
      ),
    );
  }
  return probes;
}
