import "server-only";
import { open } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { decodeJwt } from "jose";
import { z } from "zod";
import { db, hotPathReads } from "../platform/db";
import { databaseKind, env } from "../platform/env";
import { withRedis } from "../platform/redis";
import { redisKeys } from "../sessions/redis-keys";
import { findSessionByToken, sessionStoreName } from "../sessions/store";
import { browserStrategies, cookieNameFor, strategies } from "../strategies";
import { issueTokenPair } from "../strategies/api";
import { hashToken } from "../tokens/opaque";
import { median, send } from "./loopback";
import { formatMicros, formatReads, readCount, timeSteps, type ReadCount } from "./measure";
import { isSignedToken, publicKeyVerifier } from "./revocation";
import { withThrowawayAccount, type ThrowawayAccount } from "./throwaway";
import type { ClaimResult, Experiment, LabRun } from "./types";
import { formatMs, type RevocationMode } from "./verdicts";

/**
 * "Sessions use a lot of server resources." For a throwaway account, one
 * credential of each kind (database-session cookie, browser JWT cookie, API
 * access token as Bearer), measured on this server as it runs:
 *   - per request: GET /api/me with each, and the bare GET /api/ping, in
 *     interleaved rounds over one kept-alive loopback connection (median
 *     latency, and the difference to the bare route);
 *   - store reads per request: the hot-path read counter around each request
 *     (and Redis commands, when sessions live in Redis);
 *   - the verification step alone, in process: the kind's own verify() as a
 *     request runs it, and for signed tokens the signature check alone (jose
 *     with the public key, no cache);
 *   - bytes stored per session: the stored column sizes of its rows, or
 *     MEMORY USAGE of its Redis keys;
 *   - the req/s ratios of the last npm run bench, when its file exists.
 */

const BARE_ROUTE = "/api/ping";
const PROTECTED_ROUTE = "/api/me";
/** Rounds of one request per target (bare route + three credentials): 4 × 45 = 180 requests, a second or two. */
const ROUNDS = 40;
const WARM_UP_ROUNDS = 5;
/** In-process verifications per kind. */
const VERIFY_ROUNDS = 60;
/** Where npm run bench leaves its figures (scripts/bench.mjs), relative to where the server runs. */
export const BENCH_FILE = path.join("data", "results", "bench.json");
const MAX_BENCH_FILE_BYTES = 2 * 1024 * 1024;

type Tone = "session" | "token";

/** One credential kind's figures, as measured. */
export interface CostRow {
  key: string;
  label: string;
  tone: Tone;
  /** Median latency of GET /api/me over loopback. */
  p50Ms: number;
  /** That median less the bare route's. */
  overBareMs: number;
  /** Answers other than 200 during the timed rounds: the control. */
  refused: number;
  requests: number;
  /** Hot-path reads per request (median, less the bare route's). */
  reads: ReadCount;
  /** Redis commands per request (median, less the bare route's); null when sessions are not in Redis. */
  redisCommands: number | null;
  /** The kind's verify() in process (median µs) and its reads per call. */
  verifyMicros: number;
  verifyReads: number;
  /** The signature check alone (jose, public key, no cache); null for opaque tokens. */
  signatureMicros: number | null;
  /** Bytes stored for this session (column sizes, or Redis MEMORY USAGE); null if none found. */
  storedBytes: number | null;
  /** What the server stores for it, and when it reads that, in words. */
  stored: string;
}

/** Median latency of a target and its difference to the bare route's. */
export function latencyOverBare(latencies: readonly number[], bareLatencies: readonly number[]): { p50Ms: number; overBareMs: number } {
  const p50Ms = median(latencies);
  return { p50Ms, overBareMs: p50Ms - median(bareLatencies) };
}

/** "+0.25 ms", "−0.10 ms": a difference as measured (a negative one is noise the page does not hide). */
export function formatDifference(ms: number): string {
  return `${ms >= 0 ? "+" : "−"}${formatMs(Math.abs(ms))}`;
}

/** Bytes for a million users with one active session each (decimal: a million bytes is 1 MB). */
export function bytesPerMillion(bytesPerSession: number): number {
  return bytesPerSession * 1_000_000;
}

/** "340 bytes", "12.5 KB", "340 MB", "1.2 GB" (decimal units). */
export function formatBytes(bytes: number): string {
  const units: [number, string][] = [
    [1e9, "GB"],
    [1e6, "MB"],
    [1e3, "KB"],
  ];
  for (const [size, unit] of units) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${unit}`;
    }
  }
  return `${Math.round(bytes)} bytes`;
}

// ---- the benchmark's file ----

const BenchRowSchema = z.object({
  key: z.string().min(1).max(100),
  label: z.string().max(300),
  rps: z.number().positive(),
  /** Paired by round against the bare route (scripts/bench.mjs); absent in older files. */
  vsLimit: z.number().positive().nullable().optional(),
});

const BenchReportSchema = z.object({
  date: z.iso.datetime(),
  machine: z.string().max(500),
  settings: z.object({ rounds: z.number().int().positive(), durationSeconds: z.number().positive() }).optional(),
  revocationMode: z.enum(["strict", "stateless", "pushed"]).optional(),
  sessionStore: z.enum(["database", "redis"]).optional(),
  sqlite: z.array(BenchRowSchema).max(100),
  postgres: z.array(BenchRowSchema).max(100).nullable().optional(),
});

export type BenchReport = z.infer<typeof BenchReportSchema>;

export type BenchReading = { status: "ok"; report: BenchReport } | { status: "absent" } | { status: "unusable" };

/** The bench's JSON, validated; anything else (not JSON, wrong shape) is unusable — never an exception. */
export function parseBenchReport(text: string): BenchReading {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { status: "unusable" };
  }
  const parsed = BenchReportSchema.safeParse(value);
  return parsed.success ? { status: "ok", report: parsed.data } : { status: "unusable" };
}

/** Reads data/results/bench.json under `root` (a bounded read: a huge file is unusable, not loaded). */
export async function readBenchReport(root = process.cwd()): Promise<BenchReading> {
  let file;
  try {
    file = await open(path.join(root, BENCH_FILE), "r");
  } catch {
    return { status: "absent" };
  }
  try {
    const { size } = await file.stat();
    if (size > MAX_BENCH_FILE_BYTES) return { status: "unusable" };
    return parseBenchReport(await file.readFile("utf8"));
  } catch {
    return { status: "unusable" };
  } finally {
    await file.close();
  }
}

export interface BenchRatio {
  database: "SQLite" | "PostgreSQL";
  key: string;
  label: string;
  rps: number;
  /** req/s over the bare route's. */
  ratio: number;
}

/** The /api/me routes' req/s next to the bare route's, per database the bench ran on. */
export function benchRatios(report: BenchReport): BenchRatio[] {
  const sections = [
    { database: "SQLite" as const, rows: report.sqlite },
    { database: "PostgreSQL" as const, rows: report.postgres ?? [] },
  ];
  return sections.flatMap(({ database, rows }) => {
    const bare = rows.find((row) => row.key === "ping");
    if (!bare) return [];
    return rows
      .filter((row) => row.key.startsWith("me-"))
      .map((row) => ({ database, key: row.key, label: row.label, rps: row.rps, ratio: row.vsLimit ?? row.rps / bare.rps }));
  });
}

// ---- verdict ----

/** What the server keeps for a browser JWT in each revocation mode, and when it reads it. */
export function tokenRecordUse(mode: RevocationMode): string {
  if (mode === "strict") return "its session record (sid) is read on every request";
  if (mode === "pushed") return "its session record (sid) is read once per instance, then revocations are pushed into memory";
  return "its session record (sid) is still written at sign-in (sign-out, the session list and renewal use it) but not read per request";
}

export function costVerdict(mode: RevocationMode, rows: readonly CostRow[]): { verdict: string; caveat: string } {
  const refused = rows.filter((row) => row.refused > 0);
  if (refused.length > 0) {
    return {
      verdict: `Inconclusive: ${refused.map((row) => row.label).join(", ")} got answers other than 200 from ${PROTECTED_ROUTE}, so the timings are not of a verified request.`,
      caveat: "The server log says why the fresh credential was refused.",
    };
  }
  const session = rows.find((row) => row.tone === "session");
  // The browser JWT: the first signed kind (browser kinds come before the API token).
  const token = rows.find((row) => row.tone === "token");
  if (!session || !token) return { verdict: "Inconclusive: a credential kind was missing from the run.", caveat: "" };
  const perRequest = (row: CostRow) => `${formatDifference(row.overBareMs)} and ${formatReads(row.reads.perStep)}`;
  const sessionReads = session.reads.perStep;
  const tokenReads = token.reads.perStep;
  const headline =
    sessionReads > tokenReads
      ? "Partly true here: the database session reads the store on every request and the JWT does not"
      : sessionReads === 0 && tokenReads === 0
        ? `Not here: with REVOCATION_MODE=${mode} neither reads the store per request once it is known to this instance`
        : `Not here: with REVOCATION_MODE=${mode} the JWT reads the store on every request as well`;
  const storage =
    session.storedBytes !== null && token.storedBytes !== null
      ? ` Stored: ${session.storedBytes} bytes per database session (${formatBytes(bytesPerMillion(session.storedBytes))} per million users), ${token.storedBytes} bytes for the JWT's session record (${formatBytes(bytesPerMillion(token.storedBytes))}).`
      : "";
  return {
    verdict: `${headline}. Per request over the bare route: database session ${perRequest(session)}, JWT ${perRequest(token)}.${storage}`,
    caveat: `The JWT is not free of server state: ${tokenRecordUse(mode)}. One request at a time over loopback on a shared machine: differences of a fraction of a millisecond are within the noise; under load a read per request costs a database round trip and a connection, which the bench's req/s ratios show.`,
  };
}

// ---- measuring ----

interface Subject {
  key: string;
  label: string;
  tone: Tone;
  headers: Record<string, string>;
  verify: () => Promise<unknown>;
  signed: boolean;
  value: string;
  sessionId: string;
  /** Redis keys that belong to this session alone. */
  redisKeys: string[];
  stored: string;
}

interface Samples {
  latencies: number[];
  reads: number[];
  redis: number[];
  refused: number;
}

/** Redis's count of processed commands (INFO stats): the server's, shared with every instance. */
async function redisCommandsProcessed(): Promise<number> {
  const info = await withRedis((client) => client.info("stats"));
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

const SESSION_COLUMNS = ["id", "sessionToken", "userId", "strategy", "expires", "createdAt", "lastSeenAt", "userAgent", "ip", "revokedAt", "revokedReason"];
const REFRESH_TOKEN_COLUMNS = ["id", "tokenHash", "sessionId", "createdAt", "expiresAt", "usedAt"];

/** One column's stored size: pg_column_size on PostgreSQL; on SQLite text and blobs by length, integers and reals as 8 bytes (their most). */
function columnSize(column: string): string {
  return databaseKind === "postgresql"
    ? `COALESCE(pg_column_size("${column}"), 0)`
    : `(CASE typeof("${column}") WHEN 'null' THEN 0 WHEN 'integer' THEN 8 WHEN 'real' THEN 8 ELSE length(CAST("${column}" AS BLOB)) END)`;
}

async function sumOfSizes(table: string, columns: string[], where: string, id: string): Promise<number> {
  const placeholder = databaseKind === "postgresql" ? "$1" : "?";
  const rows = await db().$queryRawUnsafe<{ bytes: number | bigint | null }[]>(
    `SELECT COALESCE(SUM(${columns.map(columnSize).join(" + ")}), 0) AS "bytes" FROM "${table}" WHERE "${where}" = ${placeholder}`,
    id,
  );
  return Number(rows[0]?.bytes ?? 0);
}

/** Bytes the store holds for one session: its row (and its refresh tokens' rows), or its Redis keys. */
async function storedBytes(subject: Subject): Promise<number | null> {
  if (sessionStoreName() === "redis") {
    const sizes = await withRedis((client) => Promise.all(subject.redisKeys.map((key) => client.call("MEMORY", "USAGE", key, "SAMPLES", "0"))));
    const total = sizes.reduce<number>((sum, size) => sum + (typeof size === "number" ? size : 0), 0);
    return total > 0 ? total : null;
  }
  return databaseSessionBytes(subject.sessionId);
}

/** The stored column sizes of a session's row and of its refresh tokens' rows (SQLite or PostgreSQL); null if there is no row. */
export async function databaseSessionBytes(sessionId: string): Promise<number | null> {
  const bytes = (await sumOfSizes("Session", SESSION_COLUMNS, "id", sessionId)) + (await sumOfSizes("RefreshToken", REFRESH_TOKEN_COLUMNS, "sessionId", sessionId));
  return bytes > 0 ? bytes : null;
}

/** Each target once per round, the order turned by one every round, so that drift lands on all alike. */
async function interleavedRounds(lab: LabRun, targets: { key: string; path: string; headers: Record<string, string> }[], countRedis: boolean): Promise<Map<string, Samples>> {
  const samples = new Map(targets.map((target) => [target.key, { latencies: [], reads: [], redis: [], refused: 0 } as Samples]));
  // One connection, kept alive: the figures are of requests, not of handshakes.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round += 1) {
      for (let turn = 0; turn < targets.length; turn += 1) {
        const target = targets[(turn + round) % targets.length];
        if (!target) continue;
        const redisBefore = countRedis ? await redisCommandsProcessed() : 0;
        const readsBefore = hotPathReads();
        const before = performance.now();
        const answer = await send(lab.origin, target.path, { headers: target.headers, agent });
        const elapsed = performance.now() - before;
        const reads = hotPathReads() - readsBefore;
        const redis = countRedis ? (await redisCommandsProcessed()) - redisBefore : 0;
        if (round < WARM_UP_ROUNDS) continue;
        const entry = samples.get(target.key);
        if (!entry) continue;
        entry.latencies.push(elapsed);
        entry.reads.push(reads);
        entry.redis.push(redis);
        if (answer.status !== 200) entry.refused += 1;
      }
    }
  } finally {
    agent.destroy();
  }
  return samples;
}

function storedWords(tone: Tone, transport: "cookie" | "bearer", mode: RevocationMode, redis: boolean): string {
  const record = redis ? "hash in Redis" : "row in the database";
  if (tone === "session") {
    const read = mode === "pushed" ? "read once per instance, then remembered until revoked" : "read on every request";
    return `session ${record}${redis ? " and a key from the cookie token's hash to it" : ""} (hash of the cookie token, user, times, user agent, IP), ${read}`;
  }
  if (transport === "bearer") return `token family ${record} and its refresh token's; the family is checked per request as the browser JWT's session is`;
  return `${tokenRecordUse(mode)} (a ${record})`;
}

async function subjectsFor(lab: LabRun, account: ThrowawayAccount): Promise<Subject[]> {
  const mode = env.REVOCATION_MODE;
  const redis = sessionStoreName() === "redis";
  const subjects: Subject[] = [];
  for (const strategy of browserStrategies(strategies)) {
    const issued = await account.signIn(strategy, lab.context);
    const signed = isSignedToken(issued.value);
    const sid = signed ? decodeJwt(issued.value).sid : (await findSessionByToken(issued.value))?.id;
    if (typeof sid !== "string") throw new Error(`no session found for the ${strategy.kind} credential`);
    const tone: Tone = signed ? "token" : "session";
    subjects.push({
      key: strategy.kind,
      label: `${strategy.label} cookie`,
      tone,
      // Loopback is plain http, so the server reads the plain cookie name.
      headers: { cookie: `${cookieNameFor(strategy, false)}=${issued.value}` },
      verify: () => strategy.verify(issued.value),
      signed,
      value: issued.value,
      sessionId: sid,
      redisKeys: signed ? [redisKeys.session(sid)] : [redisKeys.session(sid), redisKeys.token(hashToken(issued.value))],
      stored: storedWords(tone, strategy.transport, mode, redis),
    });
  }
  const bearer = strategies.find((strategy) => strategy.transport === "bearer");
  if (bearer) {
    // The pair itself (not bearer.issue): its refresh token names the family's second stored record.
    const pair = await issueTokenPair(account.user, lab.context);
    await account.track(pair.access_token);
    const sid = decodeJwt(pair.access_token).sid;
    if (typeof sid !== "string") throw new Error("the access token names no family");
    subjects.push({
      key: bearer.kind,
      label: "API access token (Bearer)",
      tone: "token",
      headers: { authorization: `Bearer ${pair.access_token}` },
      verify: () => bearer.verify(pair.access_token),
      signed: true,
      value: pair.access_token,
      sessionId: sid,
      redisKeys: [redisKeys.session(sid), redisKeys.refreshToken(hashToken(pair.refresh_token))],
      stored: storedWords("token", bearer.transport, mode, redis),
    });
  }
  return subjects;
}

export const costExperiment = {
  id: "cost",
  title: "Server cost per request",
  summary: "Sessions use a lot of server resources.",

  async run(lab: LabRun): Promise<ClaimResult[]> {
    const countRedis = sessionStoreName() === "redis";
    const signatureOnly = await publicKeyVerifier(lab);
    const bench = await readBenchReport();
    const rows = await withThrowawayAccount(async (account) => {
      lab.progress("Created a throwaway account; issuing a database session, a browser JWT and an API token");
      const subjects = await subjectsFor(lab, account);
      const targets = [{ key: "bare", path: BARE_ROUTE, headers: {} }, ...subjects.map((subject) => ({ key: subject.key, path: PROTECTED_ROUTE, headers: subject.headers }))];
      lab.progress(`Timing ${targets.length * (WARM_UP_ROUNDS + ROUNDS)} loopback requests in interleaved rounds (${BARE_ROUTE}, then ${PROTECTED_ROUTE} with each credential)`);
      const samples = await interleavedRounds(lab, targets, countRedis);
      const bare = samples.get("bare") ?? { latencies: [], reads: [], redis: [], refused: 0 };
      const bareReads = median(bare.reads);
      const bareRedis = median(bare.redis);

      lab.progress(`Timing each kind's verification in process (${VERIFY_ROUNDS} times each), and the signature check alone`);
      const measured: CostRow[] = [];
      for (const subject of subjects) {
        const entry = samples.get(subject.key) ?? { latencies: [], reads: [], redis: [], refused: 0 };
        const verify = await timeSteps(subject.verify, VERIFY_ROUNDS);
        const signature = subject.signed ? await timeSteps(() => signatureOnly(subject.value), VERIFY_ROUNDS) : null;
        measured.push({
          key: subject.key,
          label: subject.label,
          tone: subject.tone,
          ...latencyOverBare(entry.latencies, bare.latencies),
          refused: entry.refused,
          requests: entry.latencies.length,
          reads: readCount(entry.reads, bareReads),
          redisCommands: countRedis ? Math.max(0, median(entry.redis) - bareRedis) : null,
          verifyMicros: verify.medianMicros,
          verifyReads: verify.reads.perStep,
          signatureMicros: signature?.medianMicros ?? null,
          storedBytes: null,
          stored: subject.stored,
        });
      }
      lab.progress("Measuring what the store holds for each session");
      for (const [index, subject] of subjects.entries()) {
        const row = measured[index];
        if (row) row.storedBytes = await storedBytes(subject);
      }
      lab.progress("Deleting the throwaway account and its sessions");
      return { measured, bareP50: median(bare.latencies), bareRequests: bare.latencies.length, bareReads };
    });
    return [costClaim(rows.measured, rows.bareP50, rows.bareRequests, rows.bareReads, bench)];
  },
} satisfies Experiment<"cost">;

function benchTable(bench: BenchReading): { caption: string; columns: string[]; rows: { key: string; cells: string[] }[] } {
  if (bench.status !== "ok") {
    const why = bench.status === "absent" ? "none found" : "the file is not a benchmark report this version reads";
    return {
      caption: `Benchmark (${BENCH_FILE}): no recent run (${why})`,
      columns: ["Route", "req/s", "vs bare route"],
      rows: [{ key: "bench-none", cells: ["No recent run: npm run bench writes one", "—", "—"] }],
    };
  }
  const { report } = bench;
  const config = report.revocationMode ? `, REVOCATION_MODE=${report.revocationMode}, sessions in ${report.sessionStore ?? "database"}` : "";
  const rounds = report.settings ? `, ${report.settings.rounds} round(s) of ${report.settings.durationSeconds} s per route` : "";
  return {
    // Not the machine line (Node version, CPU model): this page is public, and the date and settings say which run it is.
    caption: `Benchmark run of ${report.date} (${BENCH_FILE}${config}${rounds}): req/s under load with autocannon, ratio to the bare route`,
    columns: ["Route", "req/s", "vs bare route"],
    rows: benchRatios(report).map((ratio) => ({
      key: `bench-${ratio.database === "SQLite" ? "sqlite" : "postgres"}-${ratio.key}`,
      cells: [`${ratio.label} (${ratio.database})`, String(Math.round(ratio.rps)), `${ratio.ratio.toFixed(2)}×`],
    })),
  };
}

function costClaim(rows: CostRow[], bareP50: number, bareRequests: number, bareReads: number, bench: BenchReading): ClaimResult {
  const mode = env.REVOCATION_MODE;
  const store = sessionStoreName();
  const { verdict, caveat } = costVerdict(mode, rows);
  const disturbed = rows.reduce((sum, row) => sum + row.reads.disturbed, 0);
  const redis = (row: CostRow) => (row.redisCommands === null ? "" : ` + ${row.redisCommands} Redis command${row.redisCommands === 1 ? "" : "s"}`);
  const ratios = bench.status === "ok" ? benchRatios(bench.report) : [];
  const benchNote =
    bench.status === "ok"
      ? ` The last npm run bench (${bench.report.date}): ${ratios.map((ratio) => `${ratio.label} ${ratio.ratio.toFixed(2)}× the bare route's req/s (${ratio.database})`).join("; ") || "no /api/me routes in it"}.`
      : " No recent benchmark run: npm run bench measures req/s under load.";
  return {
    id: "cost",
    claim: "Sessions use a lot of server resources.",
    measured: `On this server (REVOCATION_MODE=${mode}, sessions in ${store}, ${databaseKind === "postgresql" ? "PostgreSQL" : "SQLite"}): ${rows.length + 1} targets × ${ROUNDS} interleaved loopback requests (${PROTECTED_ROUTE} with each credential, ${BARE_ROUTE} bare), the hot-path read counter around each request${store === "redis" ? " and Redis's processed-command count" : ""}, each kind's verify() ${VERIFY_ROUNDS} times in process, and the stored size of each session.`,
    columns: rows.map((row) => ({
      key: row.key,
      heading: row.label,
      tone: row.tone,
      figure: `${formatDifference(row.overBareMs)} per request`,
      detail: `${formatReads(row.reads.perStep)}${redis(row)} per request; verify in process ${formatMicros(row.verifyMicros)}; ${row.storedBytes === null ? "nothing stored found" : `${row.storedBytes} bytes stored`}`,
    })),
    charts: [
      {
        title: `Added time per request over the bare route (median, loopback; bare route ${formatMs(bareP50)})`,
        unit: "ms",
                // A bar cannot go below zero; its text keeps the sign as measured.
        bars: rows.map((row) => ({ key: row.key, label: row.label, value: Math.max(0, row.overBareMs), display: formatDifference(row.overBareMs), tone: row.tone })),
      },
      {
        title: "Bytes stored per session",
        unit: "bytes",
        bars: rows.map((row) => ({ key: row.key, label: row.label, value: row.storedBytes ?? 0, display: row.storedBytes === null ? "—" : `${row.storedBytes} bytes`, tone: row.tone })),
      },
    ],
    tables: [
      {
        caption: `Per request on this server (${ROUNDS} requests per target after ${WARM_UP_ROUNDS} warm-up rounds)`,
        columns: ["Credential", `Median ${PROTECTED_ROUTE}`, "Over bare route", "Store reads per request", "verify() in process", "Signature alone (jose, no cache)", "Non-200 answers"],
        rows: [
          { key: "bare", cells: [`none (${BARE_ROUTE}, bare route)`, formatMs(bareP50), "—", formatReads(bareReads), "—", "—", `0 of ${bareRequests}`] },
          ...rows.map((row) => ({
            key: row.key,
            cells: [
              row.label,
              formatMs(row.p50Ms),
              formatDifference(row.overBareMs),
              `${formatReads(row.reads.perStep)}${redis(row)}`,
              `${formatMicros(row.verifyMicros)} (${formatReads(row.verifyReads)})`,
              row.signatureMicros === null ? "— (opaque token)" : formatMicros(row.signatureMicros),
              `${row.refused} of ${row.requests}`,
            ],
          })),
        ],
      },
      {
        caption: `Stored per session (sessions in ${store}; per million users assumes one active session each)`,
        columns: ["Credential", "What the server stores", "Bytes per session", "Per million users"],
        rows: rows.map((row) => ({
          key: `stored-${row.key}`,
          cells: [row.label, row.stored, row.storedBytes === null ? "—" : String(row.storedBytes), row.storedBytes === null ? "—" : formatBytes(bytesPerMillion(row.storedBytes))],
        })),
      },
      benchTable(bench),
    ],
    verdict,
    caveat: `${caveat} Store reads are the statements this process ran through its hot-path query function (session and user lookups), counted per request; Prisma Client writes (the once-a-minute "last seen" update) ${store === "redis" ? "are not in it, and Redis commands are counted from Redis's own total, which other instances add to" : "and Redis are not in it"}; ${disturbed === 0 ? "no request showed reads from other traffic" : `${disturbed} request(s) showed a different count (other traffic in this process) and the median leaves them out`}. The signature alone is jose with the public key; this server remembers a verified token, so from the second request on it does not check the signature again. Stored bytes are ${store === "redis" ? "Redis MEMORY USAGE of the session's own keys (its entries in the shared sorted sets are not counted)" : "the sum of the row's column sizes; row headers and the indexes come on top"}.${benchNote}`,
  };
}
