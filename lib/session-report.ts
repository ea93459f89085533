import "server-only";
import { cookieNameFor, strategyByName, type Evidence, type SessionStrategy, type VerifiedSession } from "./strategies";

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
