import "server-only";
import { z } from "zod";
import { env } from "../platform/env";
import { browserStrategies, cookieNameFor, strategies, type StrategyKind } from "../strategies";
import { apiStrategy, issueTokenPair } from "../strategies/api";
import { send, type Answer } from "./loopback";
import { timeSteps } from "./measure";
import { formatRecordedAt, readRecorded, RESULTS_DIR, type Recorded } from "./recorded";
import { withThrowawayAccount } from "./throwaway";
import { credentialNoun, toneOf, type Bar, type ClaimResult, type Experiment, type LabRun, type Table } from "./types";
import type { RevocationMode } from "./verdicts";

/**
 * "JWTs scale horizontally." Scaling out needs every instance to accept every
 * credential; what differs is what each instance needs from the shared store
 * to do so. For a throwaway account: a database-session cookie, a browser JWT
 * and an API access token, each sent to every instance directly (their
 * loopback addresses come from scripts/cluster.mjs, CLUSTER_INSTANCE_URLS) and
 * through the load balancer, noting which instance accepted it (X-Instance);
 * then the database reads one request with each needs on this instance (the
 * hot-path counter, lib/platform/db.ts). On a single instance there is nothing
 * to scale across: the experiment says so and shows the last cluster
 * benchmark (`npm run bench -- --cluster`, data/results/bench-cluster.json).
 */

/** A credential is named by its kind of session: every kind in the registry is sent to every instance. */
export type CredentialKind = StrategyKind;

const CREDENTIALS: CredentialKind[] = strategies.map((strategy) => strategy.kind);

const strategyOf = (credential: CredentialKind) => strategies.find((strategy) => strategy.kind === credential)!;
/** "Browser JWT" in tables and charts. */
export const credentialLabel = (credential: CredentialKind): string => strategyOf(credential).credentialLabel;
const credentialTone = (credential: CredentialKind) => toneOf(strategyOf(credential));
/** The first kind of each side that browsers sign in with: what the verdict compares. */
const browserSide = (form: "opaque" | "signed") => browserStrategies(strategies).find((strategy) => strategy.credentialForm === form)?.kind;

/** Requests per credential to each instance directly: enough to see a refusal that is not a fluke. */
export const REQUESTS_PER_INSTANCE = 3;
/** Requests per credential, on this instance, over which its database reads are counted. */
export const READ_SAMPLE_REQUESTS = 20;

export const BENCH_CLUSTER_FILE = "bench-cluster.json";
export const BENCH_CLUSTER_COMMAND = "npm run bench -- --cluster";

// ---- where the instances are ----

export interface InstanceAddress {
  id: string;
  url: URL;
}

export interface Topology {
  /** True when this server is one of several behind a load balancer. */
  cluster: boolean;
  /** Every instance (just this one when single). */
  instances: InstanceAddress[];
  balancer: URL | null;
}

/** How this server names itself when it has no INSTANCE_ID. */
export const THIS_SERVER = "this server";

/** The instances to ask: the cluster's (validated loopback origins, lib/platform/env.ts), or only this server. */
export function topology(settings: { CLUSTER_INSTANCE_URLS?: { id: string; url: string }[]; CLUSTER_BALANCER_URL?: string; INSTANCE_ID?: string }, origin: URL): Topology {
  const listed = settings.CLUSTER_INSTANCE_URLS ?? [];
  if (listed.length < 2 || !settings.CLUSTER_BALANCER_URL) {
    return { cluster: false, instances: [{ id: settings.INSTANCE_ID ?? THIS_SERVER, url: origin }], balancer: null };
  }
  return { cluster: true, instances: listed.map(({ id, url }) => ({ id, url: new URL(url) })), balancer: new URL(settings.CLUSTER_BALANCER_URL) };
}

// ---- what the instances answered ----

export interface InstanceAnswer {
  credential: CredentialKind;
  /** The instance asked directly, or "balancer" for a request through the load balancer. */
  asked: string;
  /** X-Instance of the answer (the asked id when the server sends none). */
  answeredBy: string | null;
  status: number | null;
}

export interface CredentialSummary {
  credential: CredentialKind;
  label: string;
  /** Instances that accepted every direct request with it. */
  acceptedBy: string[];
  /** Instances that refused it, or did not answer, at least once. */
  refusedBy: string[];
  /** Instances that answered requests through the load balancer, and how many of those accepted it. */
  viaBalancer: { instances: string[]; sent: number; accepted: number };
}

/** Per credential: which instances accepted it when asked directly, and who answered through the load balancer. */
export function summarizeInstances(answers: readonly InstanceAnswer[], instanceIds: readonly string[]): CredentialSummary[] {
  return CREDENTIALS.filter((credential) => answers.some((answer) => answer.credential === credential)).map((credential) => {
    const mine = answers.filter((answer) => answer.credential === credential);
    const direct = (id: string) => mine.filter((answer) => answer.asked === id);
    const acceptedBy = instanceIds.filter((id) => direct(id).length > 0 && direct(id).every((answer) => answer.status === 200));
    const refusedBy = instanceIds.filter((id) => direct(id).some((answer) => answer.status !== 200));
    const balanced = mine.filter((answer) => answer.asked === "balancer");
    const instances = [...new Set(balanced.flatMap((answer) => (answer.answeredBy ? [answer.answeredBy] : [])))].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    return {
      credential,
      label: credentialLabel(credential),
      acceptedBy,
      refusedBy,
      viaBalancer: { instances, sent: balanced.length, accepted: balanced.filter((answer) => answer.status === 200).length },
    };
  });
}

// ---- the last cluster benchmark (scripts/bench.mjs --cluster --json) ----

const finite = z.number().nullable();
const BenchRowSchema = z.object({
  key: z.string().max(64),
  label: z.string().max(200),
  rps: finite,
  p50: finite,
  p99: finite,
  cpuMsPerRequest: finite,
  storeReadsPerRequest: z.object({ postgres: finite, redis: finite }).optional(),
});

export const BenchClusterSchema = z.object({
  date: z.iso.datetime(),
  machine: z.string().max(500),
  settings: z.object({ instances: z.number().int().min(1).max(64) }),
  cluster: z
    .array(
      z.object({
        mode: z.enum(["strict", "pushed", "stateless"]),
        store: z.enum(["database", "redis"]),
        instances: z.number().int().min(1).max(64),
        rows: z.array(BenchRowSchema).max(20),
      }),
    )
    .min(1)
    .max(40),
});
export type BenchCluster = z.infer<typeof BenchClusterSchema>;

export interface BenchFigure {
  key: string;
  mode: RevocationMode;
  store: "database" | "redis";
  /** The benchmark's route ("me-<kind>"). */
  route: string;
  credential: CredentialKind;
  instances: number;
  rpsOne: number | null;
  rpsMany: number | null;
  /** PostgreSQL transactions plus Redis commands per request, on the larger cluster. */
  storeOps: number | null;
}

/** scripts/bench.mjs names its GET /api/me routes after the browser kinds ("me-<kind>"). */
const BENCH_ROUTES = browserStrategies(strategies).map((strategy) => ({ route: `me-${strategy.kind}`, credential: strategy.kind }));

/** The benchmark's figures per configuration and credential: req/s on one and on N instances, store operations per request. */
export function benchFigures(bench: BenchCluster): BenchFigure[] {
  const variants = [...new Map(bench.cluster.map((entry) => [`${entry.mode}/${entry.store}`, { mode: entry.mode, store: entry.store }])).values()];
  return variants.flatMap(({ mode, store }) => {
    const runs = bench.cluster.filter((entry) => entry.mode === mode && entry.store === store);
    const one = runs.find((entry) => entry.instances === 1);
    const many = runs.reduce<(typeof runs)[number] | undefined>((largest, entry) => (entry.instances > 1 && (!largest || entry.instances > largest.instances) ? entry : largest), undefined);
    return BENCH_ROUTES.flatMap(({ route, credential }) => {
      const rowOne = one?.rows.find((row) => row.key === route);
      const rowMany = many?.rows.find((row) => row.key === route);
      if (!rowOne && !rowMany) return [];
      const reads = rowMany?.storeReadsPerRequest ?? rowOne?.storeReadsPerRequest;
      const storeOps = reads && reads.postgres !== null ? reads.postgres + (reads.redis ?? 0) : null;
      return [
        {
          key: `${mode}-${store}-${credential}`,
          mode,
          store,
          route,
          credential,
          instances: many?.instances ?? 1,
          rpsOne: rowOne?.rps ?? null,
          rpsMany: rowMany?.rps ?? null,
          storeOps,
        },
      ];
    });
  });
}

const storeName = (store: "database" | "redis") => (store === "redis" ? "sessions in Redis" : "sessions in PostgreSQL");
const fixed = (value: number | null, digits: number) => (value === null ? "—" : value.toFixed(digits));
const gain = (figure: BenchFigure) => (figure.rpsOne && figure.rpsMany ? `×${(figure.rpsMany / figure.rpsOne).toFixed(2)}` : "—");

export function benchTable(bench: BenchCluster): Table {
  const figures = benchFigures(bench);
  const instances = Math.max(...figures.map((figure) => figure.instances));
  return {
    caption: `Last cluster benchmark (${formatRecordedAt(bench.date)}; ${bench.machine}): GET /api/me through nginx`,
    columns: ["Configuration — credential", "req/s, 1 instance", `req/s, ${instances} instances`, "Scaling", "Store operations per request"],
    rows: figures.map((figure) => ({
      key: `bench-${figure.key}`,
      cells: [
        `REVOCATION_MODE=${figure.mode}, ${storeName(figure.store)} — ${credentialLabel(figure.credential)}`,
        fixed(figure.rpsOne, 0),
        fixed(figure.rpsMany, 0),
        gain(figure),
        fixed(figure.storeOps, 2),
      ],
    })),
  };
}

/** One line about the benchmark for a credential: its scaling and store operations per request in each configuration. */
function benchLine(bench: BenchCluster, credential: CredentialKind): string {
  const figures = benchFigures(bench).filter((figure) => figure.credential === credential);
  if (figures.length === 0) return "";
  return figures.map((figure) => `${figure.mode}/${figure.store}: ${gain(figure)} req/s from 1 to ${figure.instances} instances, ${fixed(figure.storeOps, 2)} store ops/request`).join("; ");
}

// ---- the verdict ----

export interface ScalingFacts {
  topology: { cluster: boolean; instances: string[] };
  summaries: CredentialSummary[];
  /** Database reads per request on this instance, per credential. */
  reads: Partial<Record<CredentialKind, number>>;
  mode: RevocationMode;
  sessionStore: "database" | "redis";
  bench: Recorded<BenchCluster>;
}

const list = (ids: readonly string[]) => ids.join(", ");
/** "a, b and c". */
const inWords = (items: readonly string[]) => (items.length > 1 ? `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}` : (items[0] ?? ""));
const readsText = (value: number | undefined) => (value === undefined ? "—" : value.toFixed(2));

/** What the bench file says, in words, when there is no cluster to ask. */
export function benchState(bench: Recorded<BenchCluster>): string {
  if (bench.state === "ok") return `the last cluster benchmark (${formatRecordedAt(bench.value.date)}) is shown below`;
  if (bench.state === "absent") return `no cluster benchmark recorded yet (run \`${BENCH_CLUSTER_COMMAND}\`)`;
  return `the cluster benchmark file (${RESULTS_DIR}/${BENCH_CLUSTER_FILE}) is not valid (${bench.problem}); run \`${BENCH_CLUSTER_COMMAND}\` again`;
}

export function scalingVerdict(facts: ScalingFacts): { verdict: string; caveat: string } {
  const { summaries, reads, mode } = facts;
  const sessionKind = browserSide("opaque");
  const tokenKind = browserSide("signed");
  const session = sessionKind && reads[sessionKind];
  const token = tokenKind && reads[tokenKind];
  const perCredential = CREDENTIALS.filter((credential) => reads[credential] !== undefined).map((credential) => `the ${credentialNoun(strategyOf(credential))} ${readsText(reads[credential])}`);
  const readLine = `Database reads per request on this instance: ${perCredential.length ? perCredential.join(", ") : "not measured"} (REVOCATION_MODE=${mode})`;
  const lighter =
    session !== undefined && token !== undefined
      ? token + 0.05 < session
        ? "the JWT leaves the shared store alone where the session cannot"
        : "the JWT needed the shared store as much as the session did"
      : "";
  const storeNote =
    facts.sessionStore === "redis" ? " Sessions live in Redis here (SESSION_STORE=redis): their lookups go there and are not in the database-read count." : "";
  const caveat = `Every instance accepts a database session too, because all of them read one shared store; a JWT needs only the public key${mode === "stateless" ? "" : `, plus — with REVOCATION_MODE=${mode} — the revocation state`}. Reads are the median per request over ${READ_SAMPLE_REQUESTS} requests per credential on this instance (the hot-path counter), so another visitor's request in between does not change them.${storeNote}`;

  if (!facts.topology.cluster) {
    const accepted = summaries.filter((summary) => summary.refusedBy.length === 0).map((summary) => credentialNoun(strategyOf(summary.credential)));
    return {
      verdict: `Not observable here: this server runs as a single instance (${facts.topology.instances[0] ?? THIS_SERVER}; no cluster configured), so there is nothing to scale across. It accepted ${accepted.length === summaries.length ? "every credential" : `only: ${accepted.join(", ") || "none"}`}. ${readLine}; ${benchState(facts.bench)}.`,
      caveat: `Start several instances behind a load balancer with \`npm run cluster\` and run this again to see each instance answer. ${caveat}`,
    };
  }
  const refused = summaries.filter((summary) => summary.refusedBy.length > 0);
  const count = facts.topology.instances.length;
  if (refused.length > 0) {
    return {
      verdict: `Not on every instance: ${refused.map((summary) => `the ${credentialNoun(strategyOf(summary.credential))} was refused by ${list(summary.refusedBy)}`).join("; ")} (of ${count} instances). ${readLine}.`,
      caveat: `An instance that refuses a credential others accept does not share their store or keys; its log says why. ${caveat}`,
    };
  }
  const spread = summaries.map((summary) => summary.viaBalancer.instances.length);
  const balanced = spread.length > 0 && Math.min(...spread) > 1 ? `, directly and through the load balancer (round-robin over ${list(summaries[0]?.viaBalancer.instances ?? [])})` : ", directly";
  return {
    verdict: `Both scale out here: each of the ${count} instances (${list(facts.topology.instances)}) accepted ${inWords(summaries.map((summary) => `the ${credentialNoun(strategyOf(summary.credential))}`))}${balanced}. ${readLine}${lighter ? `: ${lighter}` : ""}.`,
    caveat,
  };
}

// ---- the run ----

interface Presented {
  kind: CredentialKind;
  headers: Record<string, string>;
}

/** The instance that answered (X-Instance, set by server.mjs from INSTANCE_ID); null when none said. */
function answeredBy(answer: Answer): string | null {
  const header = answer.headers["x-instance"];
  return typeof header === "string" ? header : null;
}

/** The median database reads of one request with these headers on this instance (lib/lab/measure.ts). */
async function countReads(lab: LabRun, headers: Record<string, string>): Promise<number> {
  return (await timeSteps(() => send(lab.origin, "/api/me", { headers }), READ_SAMPLE_REQUESTS)).reads.perStep;
}

export const scalingExperiment = {
  id: "scaling",
  title: "Horizontal scaling",
  summary: "JWTs scale horizontally.",

  async run(lab: LabRun): Promise<ClaimResult[]> {
    const where = topology(env, lab.origin);
    const bench = await readRecorded(BENCH_CLUSTER_FILE, BenchClusterSchema);
    const { answers, reads } = await withThrowawayAccount(async (account) => {
      lab.progress("Created a throwaway account; issuing a database session, a browser JWT and an API token");
      const presented: Presented[] = [];
      for (const strategy of browserStrategies(strategies)) {
        const issued = await account.signIn(strategy, lab.context);
        presented.push({ kind: strategy.kind, headers: { cookie: `${cookieNameFor(strategy, false)}=${issued.value}` } });
      }
      const pair = await issueTokenPair(account.user, lab.context);
      await account.track(pair.access_token);
      presented.push({ kind: apiStrategy.kind, headers: { authorization: `Bearer ${pair.access_token}` } });

      const collected: InstanceAnswer[] = [];
      lab.progress(where.cluster ? `Asking each of the ${where.instances.length} instances directly, then through the load balancer` : "Asking this instance (no cluster configured)");
      for (const credential of presented) {
        for (const instance of where.instances) {
          for (let index = 0; index < REQUESTS_PER_INSTANCE; index += 1) {
            const answer = await send(instance.url, "/api/me", { headers: credential.headers });
            collected.push({ credential: credential.kind, asked: instance.id, answeredBy: answeredBy(answer) ?? instance.id, status: answer.status });
          }
        }
        if (where.balancer) {
          for (let index = 0; index < where.instances.length * 2; index += 1) {
            const answer = await send(where.balancer, "/api/me", { headers: credential.headers });
            collected.push({ credential: credential.kind, asked: "balancer", answeredBy: answeredBy(answer), status: answer.status });
          }
        }
      }
      lab.progress(`Counting this instance's database reads over ${READ_SAMPLE_REQUESTS} requests per credential`);
      const counted: Partial<Record<CredentialKind, number>> = {};
      for (const credential of presented) counted[credential.kind] = await countReads(lab, credential.headers);
      lab.progress("Deleting the throwaway account and its sessions");
      return { answers: collected, reads: counted };
    });
    const ids = where.instances.map((instance) => instance.id);
    return [
      scalingClaim({
        topology: { cluster: where.cluster, instances: ids },
        summaries: summarizeInstances(answers, ids),
        reads,
        mode: env.REVOCATION_MODE,
        sessionStore: env.SESSION_STORE,
        bench,
      }),
    ];
  },
} satisfies Experiment<"scaling">;

export function scalingClaim(facts: ScalingFacts): ClaimResult {
  const { verdict, caveat } = scalingVerdict(facts);
  const count = facts.topology.instances.length;
  const figure = (summary: CredentialSummary) =>
    facts.topology.cluster ? `accepted by ${summary.acceptedBy.length} of ${count} instances` : summary.refusedBy.length === 0 ? "accepted (single instance)" : "refused (single instance)";
  const bench = facts.bench.state === "ok" ? facts.bench.value : null;
  const detail = (summary: CredentialSummary) => {
    const reads = `${readsText(facts.reads[summary.credential])} database reads per request on this instance`;
    const benchNote = !facts.topology.cluster && bench ? benchLine(bench, summary.credential) : "";
    return benchNote ? `${reads}; last cluster benchmark: ${benchNote}` : reads;
  };
  const cell = (summary: CredentialSummary | undefined, id: string) => {
    if (!summary) return "—";
    return summary.acceptedBy.includes(id) ? `accepted (${REQUESTS_PER_INSTANCE}/${REQUESTS_PER_INSTANCE})` : "refused";
  };
  const byCredential = (credential: CredentialKind) => facts.summaries.find((summary) => summary.credential === credential);
  const acceptance: Table = {
    caption: facts.topology.cluster
      ? `Which instance accepted each credential (GET /api/me, ${REQUESTS_PER_INSTANCE} requests to each instance directly, then ${count * 2} through the load balancer)`
      : `This server alone (no cluster configured): GET /api/me, ${REQUESTS_PER_INSTANCE} requests per credential`,
    columns: ["Instance", ...CREDENTIALS.map((credential) => credentialLabel(credential))],
    rows: [
      ...facts.topology.instances.map((id) => ({ key: `instance-${id}`, cells: [id, ...CREDENTIALS.map((credential) => cell(byCredential(credential), id))] })),
      ...(facts.topology.cluster
        ? [
            {
              key: "balancer",
              cells: [
                "through the load balancer",
                ...CREDENTIALS.map((credential) => {
                  const summary = byCredential(credential);
                  return summary ? `${summary.viaBalancer.accepted}/${summary.viaBalancer.sent} accepted, answered by ${list(summary.viaBalancer.instances) || "none"}` : "—";
                }),
              ],
            },
          ]
        : []),
      {
        key: "reads",
        cells: ["database reads per request (this instance)", ...CREDENTIALS.map((credential) => readsText(facts.reads[credential]))],
      },
    ],
  };
  const readBars: Bar[] = CREDENTIALS.flatMap((credential) => {
    const value = facts.reads[credential];
    return value === undefined
      ? []
      : [{ key: `reads-${credential}`, label: credentialLabel(credential), value, display: value.toFixed(2), tone: credentialTone(credential) }];
  });
  const charts = [{ title: "Database reads per request on this instance", unit: "reads", bars: readBars }];
  if (bench) {
    charts.push({
      title: "Store operations per request in the last cluster benchmark",
      unit: "operations",
      bars: benchFigures(bench).map((entry) => ({
        key: `bench-${entry.key}`,
        label: `${entry.mode}/${entry.store} — ${credentialLabel(entry.credential)}`,
        value: entry.storeOps ?? 0,
        display: fixed(entry.storeOps, 2),
        tone: credentialTone(entry.credential),
      })),
    });
  }
  return {
    id: "scaling",
    claim: "JWTs scale horizontally.",
    measured: facts.topology.cluster
      ? `Which of the ${count} instances accepted a throwaway database session, browser JWT and API token (X-Instance), and the database reads one request with each needed on this instance (REVOCATION_MODE=${facts.mode}).`
      : `This server is a single instance: whether it accepted each credential and the database reads per request (REVOCATION_MODE=${facts.mode}); the cluster figures come from the last recorded benchmark, if any.`,
    columns: facts.summaries.map((summary) => ({
      key: summary.credential,
      heading: summary.label,
      tone: credentialTone(summary.credential),
      figure: figure(summary),
      detail: detail(summary),
    })),
    charts,
    tables: bench ? [acceptance, benchTable(bench)] : [acceptance],
    verdict,
    caveat,
  };
}
