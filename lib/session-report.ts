import "server-only";
import type { ClientContext } from "./security";
import { resolveBearer } from "./session";
import { cookieNameFor, strategyByName, type Evidence, type SessionStrategy, type VerifiedSession } from "./strategies";
import { issueTokenPair, revokeToken } from "./token-families";

export interface SessionReport {
  strategy: SessionStrategy;
  evidence: Evidence;
  cookieName: string;
  /** Size of `name=value` as the browser sends it on every request. */
  cookieBytes: number;
  /** One fresh check of the credential (signature or lookup), timed on this server now. */
  checkMs: number;
  /** Server clock when the report was made, for countdowns. */
  generatedAt: number;
}

/** Everything the dashboard shows about the current session. */
export async function sessionReport(session: VerifiedSession, https: boolean): Promise<SessionReport | null> {
  const strategy = strategyByName(session.strategy);
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
    cookieBytes: Buffer.byteLength(`${cookieName}=${session.credential}`),
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
 * after revocation: issues a throwaway one for the user (the browser strategy
 * in use, and an API access token), checks it, revokes it, then checks again
 * until it is refused or the probe gives up.
 */
export async function measureRevocation(session: VerifiedSession, context: ClientContext): Promise<RevocationProbe[]> {
  const strategy = strategyByName(session.strategy);
  if (!strategy) return [];
  const browser = await probe(
    `${strategy.label} cookie`,
    () => strategy.issue(session.user, context),
    async (value) => (await strategy.verify(value)) !== null,
    (value) => strategy.revoke(value),
  );
  const api = await probe(
    "API access token (Bearer)",
    async () => {
      const pair = await issueTokenPair(session.user, context);
      return { value: pair.access_token, expires: new Date(Date.now() + pair.expires_in * 1000) };
    },
    async (value) => (await resolveBearer(`Bearer ${value}`)) !== null,
    (value) => revokeToken(value),
  );
  return [browser, api];
}
