import "server-only";

/**
 * The lab's verdicts: one line and its caveat, derived only from what was
 * measured and how this server is configured — never a claim written down in
 * advance, so a configuration that makes an article's claim false says so.
 * Pure functions (tests/lab.test.ts feeds them made-up figures).
 */

export type RevocationMode = "strict" | "pushed" | "stateless";

/** Who answers, and about what: this server about a database session, a signed token or a refresh token; or a service holding only the public key. */
export type RevocationRole = "session" | "token" | "refresh" | "offline";

export interface RevocationRow {
  key: string;
  label: string;
  role: RevocationRole;
  acceptedBefore: boolean;
  refusedAfterMs: number | null;
  probedForMs: number;
  /** When the credential expires on its own (epoch ms). */
  expiresAt: number;
  /** When it was revoked (epoch ms). */
  revokedAt: number;
}

export interface Verdict {
  verdict: string;
  caveat: string;
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** "59 min 58 s", "10 min", "45 s". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  const parts = [hours ? `${hours} h` : "", minutes ? `${minutes} min` : "", rest || whole === 0 ? `${rest} s` : ""];
  return parts.filter(Boolean).join(" ");
}

/** How long a copy of the credential stays usable after revocation, as measured: until refused, or until exp. */
export function usableForSeconds(row: RevocationRow): number {
  return row.refusedAfterMs !== null ? row.refusedAfterMs / 1000 : Math.max(0, (row.expiresAt - row.revokedAt) / 1000);
}

/** The row's outcome in words, for the table and the columns. */
export function revocationOutcome(row: RevocationRow): string {
  if (!row.acceptedBefore) return "refused even before revocation (control failed)";
  if (row.refusedAfterMs !== null) return `refused ${formatMs(row.refusedAfterMs)} after revocation`;
  return `still accepted ${formatMs(row.probedForMs)} after revocation; valid until exp, ${formatDuration(usableForSeconds(row))} later`;
}

const slowest = (rows: RevocationRow[]) => formatMs(Math.max(...rows.map((row) => row.refusedAfterMs ?? 0)));

export function revocationVerdict(mode: RevocationMode, rows: RevocationRow[]): Verdict {
  const failedControls = rows.filter((row) => !row.acceptedBefore);
  if (failedControls.length > 0) {
    return {
      verdict: `Inconclusive: ${failedControls.map((row) => row.label).join(", ")} refused a fresh credential before it was revoked.`,
      caveat: "Without a working control nothing can be read from the refusals; the server log says why the fresh credential was refused.",
    };
  }
  const of = (role: RevocationRole) => rows.filter((row) => row.role === role);
  const refused = (list: RevocationRow[]) => list.length > 0 && list.every((row) => row.refusedAfterMs !== null);
  const accepted = (list: RevocationRow[]) => list.length > 0 && list.every((row) => row.refusedAfterMs === null);
  const [sessions, tokens, refresh, offline] = [of("session"), of("token"), of("refresh"), of("offline")];
  const offlineNote = accepted(offline)
    ? `a service holding only the public key still accepted the revoked JWT and will until its exp (${formatDuration(Math.max(...offline.map(usableForSeconds)))} from revocation)`
    : "";
  const refreshNote = refresh.length === 0 ? "" : refused(refresh) ? `; the refresh token was refused after ${slowest(refresh)}` : "; the refresh token was still honoured";

  if (!refused(sessions)) {
    return {
      verdict: "Not confirmed: a signed-out database session was still accepted by this server.",
      caveat: "Sign-out deletes the session row, so this points to a fault, not to a property of sessions; the server log has the details.",
    };
  }
  if (refused(tokens)) {
    const how = mode === "pushed" ? "pushes every revocation into each instance's memory" : "looks the token's session (sid) up on every request";
    return {
      verdict: `Both were revocable here: the database session was refused ${slowest(sessions)} after sign-out and the JWT ${slowest(tokens)} after revocation, because REVOCATION_MODE=${mode} ${how}${refreshNote}.`,
      caveat: offlineNote
        ? `That refusal comes from state this server keeps for the JWT (a session in all but name): ${offlineNote}.`
        : "That refusal comes from state this server keeps for the JWT: a session in all but name.",
    };
  }
  if (accepted(tokens)) {
    return {
      verdict: `True here: the database session was refused ${slowest(sessions)} after sign-out, while the revoked JWT was still accepted when probing stopped and stays valid until exp (${formatDuration(Math.max(...tokens.map(usableForSeconds)))} later), because REVOCATION_MODE=${mode} checks the signature only${refreshNote}.`,
      caveat: `Short lifetimes bound the exposure, and REVOCATION_MODE=strict or pushed would refuse it on the next request${offlineNote ? `; ${offlineNote}` : ""}.`,
    };
  }
  return {
    verdict: `Mixed: some revoked JWTs were refused and some were not (REVOCATION_MODE=${mode}); see the table.`,
    caveat: "In pushed mode an instance whose revocation feed is down falls back to store reads; the server log and /api/health say so.",
  };
}

// ---- size on the wire ----

export interface SizeRow {
  key: string;
  label: string;
  /** Extra claims added to the token, in bytes (0 for the cookies as issued). */
  extraBytes: number;
  /** `name=value` as the browser sends it. */
  cookieBytes: number;
  /** Median latency over loopback; null when not measured (the oversize request). */
  p50Ms: number | null;
  requestsPerSecond: number | null;
  /** The server's answer to the last request. */
  status: number | null;
}

/** RFC 6265 §6.1: user agents must support at least 4096 bytes per cookie, and browsers store no more. */
export const BROWSER_COOKIE_LIMIT = 4096;

export function browserKeeps(cookieBytes: number): boolean {
  return cookieBytes <= BROWSER_COOKIE_LIMIT;
}

export function lightweightVerdict(session: SizeRow, token: SizeRow): Verdict {
  const ratio = token.cookieBytes / Math.max(1, session.cookieBytes);
  const latency =
    session.p50Ms !== null && token.p50Ms !== null ? ` Over loopback the median request took ${formatMs(session.p50Ms)} with the session cookie and ${formatMs(token.p50Ms)} with the JWT.` : "";
  return {
    verdict: `${token.cookieBytes > session.cookieBytes ? "True in bytes" : "Not here, in bytes"}: the ${session.label} cookie is ${session.cookieBytes} bytes and the ${token.label} cookie ${token.cookieBytes} bytes (${ratio.toFixed(1)}×), sent on every request.${latency}`,
    caveat: "A few hundred bytes fit in the same packet as the rest of the request; the JWT here carries only iss, aud, sub, sid, iat and exp — the gap grows with what a token is made to carry (next claim).",
  };
}

export function growthVerdict(rows: SizeRow[], oversize: SizeRow, headerLimit: number): Verdict {
  const measured = rows.filter((row) => row.p50Ms !== null);
  const first = measured[0];
  const last = measured[measured.length - 1];
  const dropped = rows.filter((row) => !browserKeeps(row.cookieBytes));
  const breaks =
    dropped.length > 0
      ? `from ${dropped[0]?.label} (${dropped[0]?.cookieBytes} bytes) on, the cookie is over ${BROWSER_COOKIE_LIMIT} bytes and a browser drops it`
      : `no cookie measured went over ${BROWSER_COOKIE_LIMIT} bytes`;
  const server =
    oversize.status === 431
      ? `a ${oversize.cookieBytes}-byte cookie, over this server's ${headerLimit}-byte header limit, got 431`
      : `a ${oversize.cookieBytes}-byte cookie, over this server's ${headerLimit}-byte header limit, got ${oversize.status === null ? "no answer (connection closed)" : oversize.status}`;
  const trend =
    first && last && first.p50Ms !== null && last.p50Ms !== null && first.requestsPerSecond !== null && last.requestsPerSecond !== null
      ? `From ${first.cookieBytes} to ${last.cookieBytes} bytes the median request went from ${formatMs(first.p50Ms)} to ${formatMs(last.p50Ms)} and throughput from ${Math.round(first.requestsPerSecond)} to ${Math.round(last.requestsPerSecond)} req/s over loopback`
      : "No latency could be measured";
  return {
    verdict: `${trend}; and there are hard limits: ${breaks}, and ${server}.`,
    caveat: "Loopback hides the network: over a real link every extra byte travels on every request (upload is the slow direction on many links). The route here ignores the cookie, so this is the cost of carrying it, not of verifying it.",
  };
}
