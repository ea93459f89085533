import "server-only";

/**
 * How long a credential keeps working after it is revoked, measured: shared by
 * the dashboard's "Measure revocation" (one verifier: this server, in process)
 * and the comparison lab (several verifiers of one credential at once: this
 * server over HTTP, a service holding only the public key).
 */
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

export interface RevocationCheck {
  /** What is probed, as the pages name it. */
  label: string;
  /** Whether this verifier accepts the credential now. */
  accepts(value: string): Promise<boolean>;
}

/** Long enough to see a pushed revocation arrive, short enough for a button press. */
export const PROBE_FOR_MS = 1500;
const PROBE_EVERY_MS = 100;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Checks the fresh credential with every verifier (the control), revokes it
 * once, then asks every verifier that still accepts it again until each
 * refuses or PROBE_FOR_MS has passed. The first check after the revocation is
 * immediate, so a refusal on the next request is measured as such.
 */
export async function probeRevocation(
  issued: { value: string; expires: Date },
  checks: readonly RevocationCheck[],
  revoke: () => Promise<unknown>,
): Promise<RevocationProbe[]> {
  const acceptedBefore = await Promise.all(checks.map((check) => check.accepts(issued.value)));
  const refusedAfter: (number | null)[] = checks.map(() => null);
  const started = performance.now();
  await revoke();
  for (;;) {
    const pending = checks.flatMap((check, index) => (acceptedBefore[index] && refusedAfter[index] === null ? [{ check, index }] : []));
    if (pending.length === 0) break;
    const answers = await Promise.all(pending.map(({ check }) => check.accepts(issued.value)));
    const at = performance.now() - started;
    pending.forEach(({ index }, position) => {
      if (!answers[position]) refusedAfter[index] = at;
    });
    if (at >= PROBE_FOR_MS) break;
    await pause(PROBE_EVERY_MS);
  }
  const probedForMs = Math.round(performance.now() - started);
  return checks.map((check, index) => ({
    credential: check.label,
    acceptedBefore: acceptedBefore[index] ?? false,
    refusedAfterMs: refusedAfter[index] ?? null,
    probedForMs,
    expires: issued.expires.toISOString(),
  }));
}
