import "server-only";
import { decodeJwt, type JWTPayload } from "jose";
import { env } from "../platform/env";
import { isLive, sessionKnownActive } from "../sessions/feed-checks";
import { activeSessionUser, findSessionById, sessionStoreName, type StoredSession } from "../sessions/store";
import { browserStrategies, cookieNameFor, strategies, type StrategyKind } from "../strategies";
import { formatMicros, formatReads, timeSteps, type StepCost } from "./measure";
import { probeRevocation } from "./probe";
import { OFFLINE, PROBE_TABLE_COLUMNS, acceptedByThisServer, isSignedToken, probeTableRow, publicKeyVerifier, usabilityBars } from "./revocation";
import { withThrowawayAccount } from "./throwaway";
import type { ClaimResult, Experiment, LabRun } from "./types";
import { formatDuration, formatMs, revocationOutcome, usableForSeconds, type RevocationMode, type RevocationRow, type Verdict } from "./verdicts";

/**
 * "Many systems tie the JWT to a user session." This server does: every
 * browser JWT carries `sid`, the id of a session record written at sign-in.
 * For a throwaway account: the JWT's claims and the record its `sid` names;
 * what checking that record costs per request (in process: the signature
 * alone, the signature plus the session lookup, and this server's verifier
 * as the running REVOCATION_MODE has it); and what it buys — the session is
 * revoked and the JWT probed (lib/lab/probe.ts) by this server over loopback
 * and by a verifier holding only the public key.
 */

/** In-process checks per figure: a few hundred store reads at most. */
const CHECK_ROUNDS = 60;

export interface HybridCosts {
  signature: StepCost;
  signatureAndSession: StepCost;
  /** The server's own verify() of the JWT, as the running mode does it. */
  server: StepCost;
  /** Pushed mode with the feed live: the in-memory check; else null. */
  memory: StepCost | null;
  opaqueSession: StepCost | null;
}

/** What checking the session adds to checking the signature (never below zero: both are noisy medians). */
export function sessionCheckMicros(costs: Pick<HybridCosts, "signature" | "signatureAndSession">): number {
  return Math.max(0, costs.signatureAndSession.medianMicros - costs.signature.medianMicros);
}

/** How this server treats the JWT's sid per request, in words, for the running mode. */
export function sidCheckWords(mode: RevocationMode): string {
  if (mode === "strict") return "looks the session its sid names up on every request";
  if (mode === "pushed") return "checks its sid against the revocations pushed into every instance's memory (the session is read once per instance)";
  return "checks the signature only and never looks at sid per request";
}

export function hybridVerdict(mode: RevocationMode, server: RevocationRow, offline: RevocationRow, costs: Pick<HybridCosts, "signature" | "signatureAndSession" | "memory">): Verdict {
  if (!server.acceptedBefore || !offline.acceptedBefore) {
    return {
      verdict: `Inconclusive: ${[server, offline].filter((row) => !row.acceptedBefore).map((row) => row.label).join(", ")} refused the fresh JWT before its session was revoked.`,
      caveat: "Without a working control nothing can be read from the refusals; the server log says why.",
    };
  }
  const lookup = `looking the session up by sid took ${formatMicros(sessionCheckMicros(costs))} on top of ${formatMicros(costs.signature.medianMicros)} for the signature, in process`;
  // Pushed mode answers from memory instead of the lookup: its own cost, when the feed was live to measure it.
  const price = mode === "pushed" && costs.memory ? `${lookup}; the in-memory check pushed mode makes instead took ${formatMicros(costs.memory.medianMicros)}` : lookup;
  const offlineNote =
    offline.refusedAfterMs === null
      ? `A service holding only the public key has no session to ask: it still accepted the revoked JWT, until exp (${formatDuration(usableForSeconds(offline))} later).`
      : `Even the public-key-only verifier refused it after ${formatMs(offline.refusedAfterMs)}, which means the token itself changed: see the table.`;
  const immediate = mode !== "stateless";
  if (immediate && server.refusedAfterMs !== null) {
    return {
      verdict: `True here, and it pays: the JWT carries sid and REVOCATION_MODE=${mode} ${sidCheckWords(mode)}, so revoking the session refused the JWT after ${formatMs(server.refusedAfterMs)}; ${price}.`,
      caveat: `${offlineNote} The link protects only verifiers that can reach the session store or the revocation feed; to them the JWT is a session in all but name.`,
    };
  }
  if (!immediate && server.refusedAfterMs === null) {
    return {
      verdict: `Linked but not enforced here: the JWT carries sid, but REVOCATION_MODE=stateless ${sidCheckWords(mode)}, so after its session was revoked this server still accepted it, and will until exp (${formatDuration(usableForSeconds(server))} later).`,
      caveat: `The session record is still written at sign-in (sign-out, the session list and renewal use it). With REVOCATION_MODE=strict or pushed the same revocation refuses the JWT on its next request; ${price}. ${offlineNote}`,
    };
  }
  return {
    verdict: `Not as configured: REVOCATION_MODE=${mode} ${sidCheckWords(mode)}, yet this server ${server.refusedAfterMs === null ? "still accepted" : "refused"} the JWT after its session was revoked (${revocationOutcome(server)}).`,
    caveat: "In pushed mode an instance whose revocation feed is down falls back to store reads; the server log and /api/health say more.",
  };
}

/** A date claim (iat, exp) with its time, other claims as they are. */
function claimText(name: string, value: unknown): string {
  if ((name === "iat" || name === "exp" || name === "nbf") && typeof value === "number") return `${value} (${new Date(value * 1000).toISOString()})`;
  return typeof value === "string" ? value : JSON.stringify(value);
}

const RECORD_FIELDS: [string, (record: StoredSession) => string][] = [
  ["id", (record) => record.id],
  ["kind", (record) => record.strategy],
  ["userId", (record) => record.userId],
  ["createdAt", (record) => record.createdAt.toISOString()],
  ["expires", (record) => record.expires.toISOString()],
  ["revokedAt", (record) => record.revokedAt?.toISOString() ?? "null"],
  ["revokedReason", (record) => record.revokedReason ?? "null"],
];

interface Observed {
  claims: JWTPayload;
  before: StoredSession | null;
  after: StoredSession | null;
  costs: HybridCosts;
  server: RevocationRow;
  offline: RevocationRow;
  /** The signed browser kind (its kind names its columns and rows). */
  token: { kind: StrategyKind; label: string };
  /** The opaque browser kind, when one is registered. */
  opaqueSession: { kind: StrategyKind; label: string } | null;
}

export const hybridExperiment = {
  id: "hybrid",
  title: "JWT tied to a session",
  summary: "Many systems tie the JWT to a user session.",

  async run(lab: LabRun): Promise<ClaimResult[]> {
    lab.progress("Fetching this server's public keys (JWKS) for the signature-only verifier");
    const signatureOnly = await publicKeyVerifier(lab);
    const observed = await withThrowawayAccount(async (account): Promise<Observed> => {
      lab.progress("Created a throwaway account; issuing a browser JWT and a database session");
      const issued = [];
      for (const strategy of browserStrategies(strategies)) {
        const credential = await account.signIn(strategy, lab.context);
        issued.push({ strategy, credential, signed: isSignedToken(credential.value) });
      }
      const token = issued.find((entry) => entry.signed);
      const session = issued.find((entry) => !entry.signed);
      if (!token) throw new Error("no browser kind issues a signed token");
      const claims = decodeJwt(token.credential.value);
      const { sid, sub } = claims;
      if (typeof sid !== "string" || typeof sub !== "string") throw new Error("the browser JWT carries no sid or sub");
      const before = await findSessionById(sid);

      lab.progress(`Timing each check ${CHECK_ROUNDS} times in process: signature only, signature + session lookup, this server's verifier`);
      const value = token.credential.value;
      const costs: HybridCosts = {
        signature: await timeSteps(() => signatureOnly(value), CHECK_ROUNDS),
        signatureAndSession: await timeSteps(async () => (await signatureOnly(value)) && (await activeSessionUser(sid, sub)), CHECK_ROUNDS),
        server: await timeSteps(() => token.strategy.verify(value), CHECK_ROUNDS),
        memory: isLive() ? await timeSteps(() => sessionKnownActive(sid, sub), CHECK_ROUNDS) : null,
        opaqueSession: session ? await timeSteps(() => session.strategy.verify(session.credential.value), CHECK_ROUNDS) : null,
      };

      lab.progress("Revoking the session the JWT's sid names, then probing the JWT until refused (or accepted past the probe)");
      // Loopback is plain http, so the server reads the plain cookie name.
      const cookie = `${cookieNameFor(token.strategy, false)}=${value}`;
      const serverLabel = `${token.strategy.label} — this server`;
      const offlineLabel = `${token.strategy.label} — ${OFFLINE}`;
      const revokedAt = Date.now();
      const probes = await probeRevocation(
        token.credential,
        [
          { label: serverLabel, accepts: acceptedByThisServer(lab, () => ({ cookie })) },
          { label: offlineLabel, accepts: signatureOnly },
        ],
        () => token.strategy.revoke(value),
      );
      const after = await findSessionById(sid);
      const asRow = (index: number, key: string, role: RevocationRow["role"]): RevocationRow => {
        const probe = probes[index];
        if (!probe) throw new Error("probe result missing");
        return { key, label: probe.credential, role, acceptedBefore: probe.acceptedBefore, refusedAfterMs: probe.refusedAfterMs, probedForMs: probe.probedForMs, expiresAt: token.credential.expires.getTime(), revokedAt };
      };
      lab.progress("Deleting the throwaway account and its sessions");
      return {
        claims,
        before,
        after,
        costs,
        server: asRow(0, `${token.strategy.kind}-server`, "token"),
        offline: asRow(1, `${token.strategy.kind}-offline`, "offline"),
        token: { kind: token.strategy.kind, label: token.strategy.label },
        opaqueSession: session ? { kind: session.strategy.kind, label: session.strategy.label } : null,
      };
    });
    return [hybridClaim(observed)];
  },
} satisfies Experiment<"hybrid">;

function hybridClaim(observed: Observed): ClaimResult {
  const mode = env.REVOCATION_MODE;
  const store = sessionStoreName();
  const { claims, before, after, costs, server, offline, token, opaqueSession } = observed;
  const tokenLabel = token.label;
  const { verdict, caveat } = hybridVerdict(mode, server, offline, costs);
  const reads = (cost: StepCost) => `${formatReads(cost.reads.perStep)}${store === "redis" ? " (SQL; the session itself is in Redis)" : ""}`;
  const checks: { key: string; label: string; cost: StepCost; tone: "session" | "token" | "neutral" }[] = [
    { key: "signature", label: `${tokenLabel}: signature only (jose, public key, no cache)`, cost: costs.signature, tone: "token" },
    { key: "signature-session", label: `${tokenLabel}: signature + session lookup by sid`, cost: costs.signatureAndSession, tone: "token" },
    { key: "server", label: `${tokenLabel}: this server's verifier (REVOCATION_MODE=${mode})`, cost: costs.server, tone: "token" },
    ...(costs.memory ? [{ key: "memory", label: "sid against the pushed revocations (memory)", cost: costs.memory, tone: "neutral" as const }] : []),
    ...(costs.opaqueSession && opaqueSession ? [{ key: opaqueSession.kind, label: `${opaqueSession.label}: this server's verifier`, cost: costs.opaqueSession, tone: "session" as const }] : []),
  ];
  return {
    id: "hybrid",
    claim: "Many systems tie the JWT to a user session.",
    measured: `A throwaway ${tokenLabel}'s claims and the session record its sid names (sessions in ${store}); each check ${CHECK_ROUNDS} times in process (median, store reads counted per check); then the session revoked and the JWT probed by this server over loopback (REVOCATION_MODE=${mode}) and by a verifier holding only the public key.`,
    columns: [
      {
        key: `${token.kind}-signature`,
        tone: "token",
        heading: `${tokenLabel}, signature only`,
        figure: `${formatMicros(costs.signature.medianMicros)} per check`,
        detail: `what a verifier without the session does: ${revocationOutcome(offline)}`,
      },
      {
        key: `${token.kind}-sid`,
        tone: "token",
        heading: `${tokenLabel} + session check (sid)`,
        figure: `${formatMicros(costs.signatureAndSession.medianMicros)} per check`,
        detail: `${reads(costs.signatureAndSession)} per check; this server ${mode === "stateless" ? "skips it" : "makes it"} (REVOCATION_MODE=${mode}): ${revocationOutcome(server)}`,
      },
      ...(costs.opaqueSession && opaqueSession
        ? [{ key: opaqueSession.kind, heading: opaqueSession.label, tone: "session" as const, figure: `${formatMicros(costs.opaqueSession.medianMicros)} per check`, detail: `${reads(costs.opaqueSession)} per check: the session is the credential` }]
        : []),
    ],
    charts: [
      {
        title: "Cost of one check, in process (median)",
        unit: "µs",
        bars: checks.map((check) => ({ key: check.key, label: check.label, value: check.cost.medianMicros, display: formatMicros(check.cost.medianMicros), tone: check.tone })),
      },
      {
        title: "How long the JWT stays usable after its session is revoked",
        unit: "seconds",
        // This server's answer comes from the session record; the other verifier has only the token.
        bars: usabilityBars([server, offline], (row) => (row === server ? "session" : "token")),
      },
    ],
    tables: [
      {
        caption: `The throwaway ${tokenLabel}'s claims (sid names its session)`,
        columns: ["Claim", "Value"],
        rows: Object.entries(claims).map(([name, value]) => ({ key: `claim-${name}`, cells: [name, claimText(name, value)] })),
      },
      {
        caption: `The session record sid names (in ${store}), before and after the revocation`,
        columns: ["Field", "Before", "After revocation"],
        rows: RECORD_FIELDS.map(([field, read]) => ({
          key: `record-${field}`,
          cells: [field, before ? read(before) : "(not found)", after ? read(after) : "(not found)"],
        })),
      },
      {
        caption: `Cost of one check in process (${CHECK_ROUNDS} runs each)`,
        columns: ["Check", "Median", "Store reads per check"],
        rows: checks.map((check) => ({ key: `check-${check.key}`, cells: [check.label, formatMicros(check.cost.medianMicros), reads(check.cost)] })),
      },
      {
        caption: `After revoking the session (REVOCATION_MODE=${mode})`,
        columns: PROBE_TABLE_COLUMNS,
        rows: [server, offline].map(probeTableRow),
      },
    ],
    verdict,
    caveat: `${caveat} This server remembers a verified token, so its own verifier does not check the signature again on later requests; the "signature only" figure is a verifier without that memory.`,
  };
}
