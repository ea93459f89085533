import "server-only";
import { z } from "zod";
import { databaseKind, env } from "../platform/env";
import { browserKinds, browserStrategies, strategies, strategyByKind, type StrategyKind } from "../strategies";
import { formatRecordedAt, readRecorded, RESULTS_DIR, type Recorded } from "./recorded";
import { credentialNoun, toneOf, type Bar, type ClaimResult, type Experiment, type LabRun, type Table } from "./types";

/**
 * "What each strategy does when the database is unreachable." This server's
 * own database cannot be stopped from a web page, so the figures come from
 * the outage tests (tests/outage/*.outage.mjs), which stop a real PostgreSQL
 * (and Redis) under running production servers — one per revocation mode —
 * and record every answer, before, during and after, in
 * data/results/outage.json. `npm run compare -- --outage` runs them first.
 */

export const OUTAGE_FILE = "outage.json";
export const OUTAGE_COMMANDS = ["npm run compare -- --outage", "npm test -- --only=outage"] as const;

const status = z.number().int().min(100).max(599).nullable();
const ObservationSchema = z.object({
  key: z.string().regex(/^[a-z0-9-]{1,64}$/),
  request: z.string().min(1).max(100),
  /** The kind of session the request carried (a browser kind), or "none". */
  credential: z.union([z.enum(browserKinds), z.literal("none")]),
  baseline: status,
  outage: status,
  recovered: status,
});
export type Observation = z.infer<typeof ObservationSchema>;

const RunSchema = z.object({
  recordedAt: z.iso.datetime(),
  /** What was stopped. */
  unavailable: z.enum(["database", "redis"]),
  database: z.enum(["postgresql", "sqlite"]),
  revocationMode: z.enum(["strict", "pushed", "stateless"]),
  requests: z.array(ObservationSchema).min(1).max(50),
});
export type OutageRun = z.infer<typeof RunSchema>;

export const OutageFileSchema = z.object({
  version: z.literal(1),
  runs: z.record(z.string().regex(/^[a-z0-9-]{1,64}$/), RunSchema).refine((runs) => Object.keys(runs).length > 0, "no runs recorded"),
});
export type OutageFile = z.infer<typeof OutageFileSchema>;

const works = (code: number | null) => code !== null && code >= 200 && code < 400;
const credentialName = (credential: Observation["credential"]) => {
  const strategy = credential === "none" ? undefined : strategyByKind(credential);
  return strategy ? credentialNoun(strategy) : "no credential";
};
// null: not asked in that phase, or no answer.
const describeStatus = (code: number | null) => (code === null ? "—" : String(code));

/** The runs in a stable order: the database outages first, then by revocation mode. */
export function orderedRuns(file: OutageFile): [string, OutageRun][] {
  const rank = { strict: 0, pushed: 1, stateless: 2 } as const;
  return Object.entries(file.runs).sort(([, a], [, b]) => (a.unavailable === b.unavailable ? rank[a.revocationMode] - rank[b.revocationMode] : a.unavailable === "database" ? -1 : 1));
}

/** Per credential, across the database outages: which requests still worked, in which mode, and which failed closed. */
export interface CredentialOutcome {
  credential: StrategyKind;
  /** "GET /api/me (stateless): 200". */
  working: string[];
  /** Every status seen during the outage. */
  statuses: number[];
  modes: string[];
  total: number;
}

export function outcomes(file: OutageFile): CredentialOutcome[] {
  const databaseRuns = orderedRuns(file).filter(([, run]) => run.unavailable === "database");
  return browserKinds.map((credential) => {
    const seen = databaseRuns.flatMap(([, run]) => run.requests.filter((request) => request.credential === credential).map((request) => ({ run, request })));
    return {
      credential,
      working: seen.filter(({ request }) => works(request.outage)).map(({ run, request }) => `${request.request} (${run.revocationMode}): ${describeStatus(request.outage)}`),
      statuses: [...new Set(seen.flatMap(({ request }) => (request.outage === null ? [] : [request.outage])))].sort(),
      modes: [...new Set(databaseRuns.map(([, run]) => run.revocationMode))],
      total: seen.length,
    };
  });
}

/** The newest recording time among the runs. */
export function recordedAt(file: OutageFile): string {
  return Object.values(file.runs)
    .map((run) => run.recordedAt)
    .sort()
    .at(-1) ?? "";
}

const commands = () => OUTAGE_COMMANDS.map((command) => `\`${command}\``).join(" or ");

export function outageVerdict(recorded: Recorded<OutageFile>): { verdict: string; caveat: string } {
  const here = `This server (${databaseKind === "sqlite" ? "SQLite" : "PostgreSQL"}, REVOCATION_MODE=${env.REVOCATION_MODE}) is not stopped for this`;
  if (recorded.state === "absent") {
    return {
      verdict: `No outage test recorded yet: run ${commands()} to stop a real PostgreSQL under running servers and record what each request answers.`,
      caveat: `${here}: the figures come only from the outage test's recorded result (${RESULTS_DIR}/${OUTAGE_FILE}).`,
    };
  }
  if (recorded.state === "invalid") {
    return {
      verdict: `The recorded outage result (${RESULTS_DIR}/${OUTAGE_FILE}) is not valid (${recorded.problem}): run ${commands()} again.`,
      caveat: `${here}; nothing is shown from a file that does not validate.`,
    };
  }
  const file = recorded.value;
  const [session, token] = outcomes(file);
  const when = `recorded ${formatRecordedAt(recordedAt(file))} by the outage test`;
  if (!session || !token || session.total === 0 || token.total === 0) {
    return {
      verdict: `The recorded outage result (${when}) has no database outage with both strategies: run ${commands()} again.`,
      caveat: `${here}.`,
    };
  }
  const closed = (outcome: CredentialOutcome) => outcome.working.length === 0;
  const modes = token.modes.join(", ");
  const statusText = (outcome: CredentialOutcome) => outcome.statuses.join("/") || "no answer";
  let verdict: string;
  if (!closed(session)) {
    verdict = `Not fail-closed: with PostgreSQL stopped, requests with a database session still got an answer: ${session.working.join("; ")} (${when}).`;
  } else if (closed(token)) {
    verdict = `Both fail closed: with PostgreSQL stopped, every request with a database session or a JWT answered ${statusText(session)} (REVOCATION_MODE=${modes}; ${when}).`;
  } else {
    verdict = `Database sessions fail closed (every request ${statusText(session)}); a JWT kept working for: ${token.working.join("; ")} — the rest answered ${statusText({ ...token, statuses: token.statuses.filter((code) => !works(code)) })} (${when}).`;
  }
  const redis = orderedRuns(file).filter(([, run]) => run.unavailable === "redis");
  const redisNote = redis.length
    ? ` With Redis (rate-limit counters) stopped: ${redis.flatMap(([, run]) => run.requests.map((request) => `${request.request} ${describeStatus(request.outage)}`)).join(", ")}.`
    : "";
  return {
    verdict,
    caveat: `${here}: the figures are the outage test's, from servers started for it on a throwaway PostgreSQL.${redisNote} A JWT only helps while the server needs nothing else from the database for that request.`,
  };
}

function runTable(name: string, run: OutageRun): Table {
  const stopped = run.unavailable === "database" ? (run.database === "postgresql" ? "PostgreSQL" : "SQLite") : "Redis";
  return {
    caption: `${stopped} stopped under a server with REVOCATION_MODE=${run.revocationMode} (recorded ${formatRecordedAt(run.recordedAt)})`,
    columns: ["Request — credential", "Before", `${stopped} down`, "Back up"],
    rows: run.requests.map((request) => ({
      key: `${name}-${request.key}`,
      cells: [`${request.request} — ${credentialName(request.credential)}`, describeStatus(request.baseline), describeStatus(request.outage), describeStatus(request.recovered)],
    })),
  };
}

export function outageClaim(recorded: Recorded<OutageFile>): ClaimResult {
  const { verdict, caveat } = outageVerdict(recorded);
  const file = recorded.state === "ok" ? recorded.value : null;
  const columnFor = (strategy: (typeof strategies)[number]) => {
    const credential = strategy.kind;
    const heading = strategy.label;
    const tone = toneOf(strategy);
    const outcome = file ? outcomes(file).find((entry) => entry.credential === credential) : undefined;
    if (!file || !outcome || outcome.total === 0) {
      return { key: credential, heading, tone, figure: recorded.state === "invalid" ? "recorded file not valid" : "not recorded yet", detail: `run ${OUTAGE_COMMANDS[0]}` };
    }
    const failed = outcome.total - outcome.working.length;
    return {
      key: credential,
      heading,
      tone,
      figure: outcome.working.length === 0 ? `fails closed: ${outcome.statuses.join("/")} on every request` : `${outcome.working.length} of ${outcome.total} requests still worked`,
      detail: outcome.working.length === 0 ? `REVOCATION_MODE=${outcome.modes.join(", ")}` : `worked: ${outcome.working.join("; ")}; ${failed} answered ${outcome.statuses.filter((code) => !works(code)).join("/") || "nothing"}`,
    };
  };
  const bars: Bar[] = file
    ? orderedRuns(file)
        .filter(([, run]) => run.unavailable === "database")
        .flatMap(([name, run]) =>
          browserStrategies(strategies).flatMap((strategy) => {
            const credential = strategy.kind;
            const requests = run.requests.filter((request) => request.credential === credential);
            if (requests.length === 0) return [];
            const working = requests.filter((request) => works(request.outage)).length;
            return [
              {
                key: `${name}-${credential}`,
                label: `${credentialName(credential)}, ${run.revocationMode}`,
                value: working,
                display: `${working} of ${requests.length}`,
                tone: toneOf(strategy),
              },
            ];
          }),
        )
    : [];
  return {
    id: "outage",
    claim: "What each strategy does when the database is unreachable.",
    measured: file
      ? `The outage test's recorded answers (${RESULTS_DIR}/${OUTAGE_FILE}, recorded ${formatRecordedAt(recordedAt(file))}): the same requests before, while and after PostgreSQL was stopped under production servers, per revocation mode.`
      : `The outage test's recorded answers (${RESULTS_DIR}/${OUTAGE_FILE}): ${recorded.state === "absent" ? "none recorded yet" : "the file is not valid"}.`,
    columns: browserStrategies(strategies).map(columnFor),
    charts: bars.length ? [{ title: "Requests that still worked while the database was down", unit: "requests", bars }] : [],
    tables: file ? orderedRuns(file).map(([name, run]) => runTable(name, run)) : [],
    verdict,
    caveat,
  };
}

export const outageExperiment = {
  id: "outage",
  title: "Database outage",
  summary: "What each strategy does when the database is unreachable: fail closed, or keep working?",

  async run(lab: LabRun): Promise<ClaimResult[]> {
    lab.progress(`Reading the outage test's recorded result (${RESULTS_DIR}/${OUTAGE_FILE})`);
    return [outageClaim(await readRecorded(OUTAGE_FILE, OutageFileSchema))];
  },
} satisfies Experiment<"outage">;
