import "server-only";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { env } from "../platform/env";
import { cookieNameFor, browserStrategies, strategies } from "../strategies";
import { issueTokenPair, refreshTokenStanding, revokeToken } from "../strategies/api";
import { ALLOWED_ALGORITHMS, API_AUDIENCE, BROWSER_AUDIENCE } from "../tokens/jwt";
import { send } from "./loopback";
import { probeRevocation, type RevocationCheck } from "./probe";
import { withThrowawayAccount } from "./throwaway";
import type { Bar, ClaimResult, Experiment, LabRun, Tone } from "./types";
import { formatDuration, formatMs, revocationOutcome, revocationVerdict, usableForSeconds, type RevocationRole, type RevocationRow } from "./verdicts";

/**
 * "Sessions are easier to invalidate; JWTs are valid until they expire."
 * For a throwaway account: one credential of every browser kind and one API
 * token family, each checked, revoked (sign-out, or revoking the family), then
 * checked again until refused — by this server over loopback HTTP (GET
 * /api/me, exactly as a client would present it), and for signed tokens also
 * by a verifier holding only the public key (this server's JWKS, fetched once,
 * and jose; no store), which is what any other service would be.
 */

/** True for a compact JWS (a signed token), false for an opaque cookie token. */
export function isSignedToken(value: string): boolean {
  try {
    decodeProtectedHeader(value);
    return true;
  } catch {
    return false;
  }
}

/** A verifier holding only this server's public keys (its JWKS, fetched once) and jose: no store, no cache. */
export async function publicKeyVerifier(lab: LabRun): Promise<(value: string) => Promise<boolean>> {
  const answer = await send(lab.origin, "/.well-known/jwks.json");
  if (answer.status !== 200) throw new Error(`JWKS answered ${answer.status}`);
  const jwks = createLocalJWKSet(JSON.parse(answer.body) as JSONWebKeySet);
  return async (value) => {
    try {
      await jwtVerify(value, jwks, { algorithms: ALLOWED_ALGORITHMS, issuer: env.JWT_ISSUER, audience: [BROWSER_AUDIENCE, API_AUDIENCE] });
      return true;
    } catch {
      return false;
    }
  };
}

export const OFFLINE = "service with only the public key";

/** Whether this server accepts a credential on GET /api/me over loopback, presented with the given headers. */
export function acceptedByThisServer(lab: LabRun, headers: (value: string) => Record<string, string>): (value: string) => Promise<boolean> {
  return async (value) => (await send(lab.origin, "/api/me", { headers: headers(value) })).status === 200;
}

/** Per check of one probe: its row key, its role, and (if not the probed credential's) its own expiry. */
interface Planned {
  roles: RevocationRole[];
  keys: string[];
  expires?: Date[];
}

export const revocationExperiment = {
  id: "revocation",
  title: "Revocation",
  summary: "Sessions are easier to invalidate; JWTs are valid until they expire.",

  async run(lab: LabRun): Promise<ClaimResult[]> {
    lab.progress("Fetching this server's public keys (JWKS) for the public-key-only verifier");
    const offlineAccepts = await publicKeyVerifier(lab);

    const rows = await withThrowawayAccount(async (account) => {
      lab.progress("Created a throwaway account; issuing one credential of each kind");
      const runs: (() => Promise<RevocationRow[]>)[] = [];
      const plan = (issued: { value: string; expires: Date }, checks: RevocationCheck[], planned: Planned, revoke: () => Promise<unknown>) =>
        runs.push(async () => {
          const revokedAt = Date.now();
          const probes = await probeRevocation(issued, checks, revoke);
          return probes.map((probe, index) => ({
            key: planned.keys[index] ?? probe.credential,
            label: probe.credential,
            role: planned.roles[index] ?? "token",
            acceptedBefore: probe.acceptedBefore,
            refusedAfterMs: probe.refusedAfterMs,
            probedForMs: probe.probedForMs,
            expiresAt: planned.expires?.[index]?.getTime() ?? issued.expires.getTime(),
            revokedAt,
          }));
        });

      for (const strategy of browserStrategies(strategies)) {
        const issued = await account.signIn(strategy, lab.context);
        // Loopback is plain http, so the server reads the plain cookie name.
        const cookie = `${cookieNameFor(strategy, false)}=${issued.value}`;
        const signed = isSignedToken(issued.value);
        const checks: RevocationCheck[] = [{ label: `${strategy.label} — this server`, accepts: acceptedByThisServer(lab, () => ({ cookie })) }];
        if (signed) checks.push({ label: `${strategy.label} — ${OFFLINE}`, accepts: offlineAccepts });
        plan(
          issued,
          checks,
          { roles: signed ? ["token", "offline"] : ["session"], keys: signed ? [`${strategy.kind}-server`, `${strategy.kind}-offline`] : [`${strategy.kind}-server`] },
          () => strategy.revoke(issued.value),
        );
      }

      // One API token family: its access token (signed) and its refresh token
      // (opaque, single use), probed together because one revocation ends both.
      const pair = await issueTokenPair(account.user, lab.context);
      await account.track(pair.access_token);
      const accessExpires = new Date(Date.now() + pair.expires_in * 1000);
      const refreshExpires = new Date(Date.now() + env.REFRESH_TOKEN_TTL_SECONDS * 1000);
      // Asked without spending it: a real refresh would replace it (and count against the caller's refresh limit).
      const refreshHonoured = async () => {
        const standing = await refreshTokenStanding(pair.refresh_token);
        return standing.ok && standing.parent.usedAt === null;
      };
      plan(
        { value: pair.access_token, expires: accessExpires },
        [
          { label: "API access token — this server", accepts: acceptedByThisServer(lab, (value) => ({ authorization: `Bearer ${value}` })) },
          { label: `API access token — ${OFFLINE}`, accepts: offlineAccepts },
          { label: "API refresh token — this server", accepts: refreshHonoured },
        ],
        { roles: ["token", "offline", "refresh"], keys: ["access-server", "access-offline", "refresh-server"], expires: [accessExpires, accessExpires, refreshExpires] },
        // Revoked through its refresh token, as a client would (POST /api/token/revoke does the same).
        () => revokeToken(pair.refresh_token, lab.context),
      );

      lab.progress("Revoking every credential and probing until each is refused (or accepted past the probe)");
      const results = (await Promise.all(runs.map((probe) => probe()))).flat();
      lab.progress("Deleting the throwaway account and its sessions");
      return results;
    });
    return [revocationClaim(rows)];
  },
} satisfies Experiment<"revocation">;

/** A database session is the session side; every signed credential (and the refresh token of their family) the token side. */
function toneOf(row: RevocationRow): Tone {
  return row.role === "session" ? "session" : "token";
}

/** One bar per probed verifier: how long the revoked copy stayed usable (until refused, or until exp). */
export function usabilityBars(rows: readonly RevocationRow[], tone: (row: RevocationRow) => Tone): Bar[] {
  return rows.map((row) => ({
    key: row.key,
    label: row.label,
    value: usableForSeconds(row),
    display: row.refusedAfterMs !== null ? formatMs(row.refusedAfterMs) : `until exp: ${formatDuration(usableForSeconds(row))}`,
    tone: tone(row),
  }));
}

export const PROBE_TABLE_COLUMNS = ["Credential — verifier", "Accepted before revocation", "After revocation", "Usable for"];

/** A probed verifier as a table row: the control, what it answered after the revocation, and for how long the copy was usable. */
export function probeTableRow(row: RevocationRow): { key: string; cells: string[] } {
  return {
    key: row.key,
    cells: [
      row.label,
      row.acceptedBefore ? "yes" : "no",
      row.refusedAfterMs !== null ? `refused after ${formatMs(row.refusedAfterMs)}` : `still accepted after ${formatMs(row.probedForMs)}`,
      row.refusedAfterMs !== null ? formatMs(row.refusedAfterMs) : `until exp (${formatDuration(usableForSeconds(row))})`,
    ],
  };
}

export function revocationClaim(rows: RevocationRow[]): ClaimResult {
  const mode = env.REVOCATION_MODE;
  const { verdict, caveat } = revocationVerdict(mode, rows);
  const short = (row: RevocationRow) =>
    !row.acceptedBefore ? "control failed" : row.refusedAfterMs !== null ? `refused after ${formatMs(row.refusedAfterMs)}` : "accepted until exp";
  return {
    id: "revocation",
    claim: "Sessions are easier to invalidate; JWTs are valid until they expire.",
    measured: `Time from sign-out or revocation until a copy of a throwaway credential is refused, on this server (REVOCATION_MODE=${mode}, over loopback HTTP) and by a verifier holding only the public key.`,
    columns: rows
      .filter((row) => row.role !== "refresh")
      .map((row) => ({ key: row.key, heading: row.label, tone: toneOf(row), figure: short(row), detail: revocationOutcome(row) })),
    charts: [
      {
        title: "How long a revoked copy stays usable",
        unit: "seconds",
        bars: usabilityBars(rows, toneOf),
      },
    ],
    tables: [
      {
        caption: `Revocation on this server (REVOCATION_MODE=${mode}) and for a service holding only the public key`,
        columns: PROBE_TABLE_COLUMNS,
        rows: rows.map(probeTableRow),
      },
    ],
    verdict,
    caveat,
  };
}
