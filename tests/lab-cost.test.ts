// The comparison lab's cost experiment without a browser: its arithmetic
// (medians, differences to the bare route, reads per request with other
// traffic in the process, bytes per million users), the benchmark file it
// reads (good, missing, broken, the wrong shape), its verdict in every
// revocation mode (fed made-up figures), and the stored size of real session
// rows on the test database.
import { testDir } from "./support/test-env";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeJwt } from "jose";
import {
  BENCH_FILE,
  benchRatios,
  bytesPerMillion,
  costVerdict,
  databaseSessionBytes,
  formatBytes,
  formatDifference,
  latencyOverBare,
  parseBenchReport,
  readBenchReport,
  tokenRecordUse,
  type CostRow,
} from "../lib/lab/cost";
import { readCount } from "../lib/lab/measure";
import { isSignedToken } from "../lib/lab/revocation";
import { withThrowawayAccount } from "../lib/lab/throwaway";
import { findSessionByToken } from "../lib/sessions/store";
import { browserStrategies, strategies } from "../lib/strategies";
import { issueTokenPair } from "../lib/strategies/api";

test("latency over the bare route: median of each list, then the difference", () => {
  assert.deepEqual(latencyOverBare([3, 1, 2], [1, 0.5, 0.75]), { p50Ms: 2, overBareMs: 1.25 });
  assert.deepEqual(latencyOverBare([4, 1, 3, 2], [1, 1]), { p50Ms: 2.5, overBareMs: 1.5 });
  // Faster than the bare route (noise) stays a negative difference: the table shows it as measured.
  assert.equal(latencyOverBare([1], [1.5]).overBareMs, -0.5);
});

test("reads per request: the median less the bare route's, with the disturbed requests counted", () => {
  assert.deepEqual(readCount([1, 1, 1, 1]), { perStep: 1, disturbed: 0 });
  // Another visitor's request landing in two of the windows does not move the median.
  assert.deepEqual(readCount([1, 3, 1, 2, 1]), { perStep: 1, disturbed: 2 });
  assert.deepEqual(readCount([0, 0, 0]), { perStep: 0, disturbed: 0 });
  // Redis: our own INFO reading is in every window; the bare route's median is the baseline.
  assert.deepEqual(readCount([3, 3, 3], 2), { perStep: 1, disturbed: 0 });
  assert.equal(readCount([1], 2).perStep, 0, "never below zero");
});

test("a difference to the bare route keeps its sign", () => {
  assert.equal(formatDifference(0.25), "+0.25 ms");
  assert.equal(formatDifference(-0.1), "−0.10 ms");
  assert.equal(formatDifference(0), "+0.00 ms");
});

test("bytes per million users: one active session each, in decimal units", () => {
  assert.equal(bytesPerMillion(300), 300_000_000);
  assert.equal(formatBytes(bytesPerMillion(300)), "300 MB");
  assert.equal(formatBytes(bytesPerMillion(1234)), "1.2 GB");
  assert.equal(formatBytes(bytesPerMillion(45)), "45.0 MB");
  assert.equal(formatBytes(812), "812 bytes");
  assert.equal(formatBytes(12_500), "12.5 KB");
});

/** A report shaped as scripts/bench.mjs writes it (NaN CPU figures become null in JSON). */
function benchReport(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const row = (key: string, rps: number, vsLimit: number | null) => ({ key, label: `GET ${key}`, group: undefined, rps, p50: 1, p99: 3, cpuMsPerRequest: null, problems: 0, vsLimit, cpuVsLimit: null, target: null, rounds: [] });
  return {
    date: "2026-11-20T10:00:00.000Z",
    machine: "node v24, 2 CPU(s) (test), linux/x64",
    settings: { connections: 10, warmupSeconds: 2, rounds: 3, durationSeconds: 5, only: null, cpuProfile: false },
    revocationMode: "strict",
    sessionStore: "database",
    jwtCookieBytes: 338,
    proxyHop: null,
    sqlite: [row("ping", 10_000, null), row("me-jwt", 8_000, 0.81), row("me-database", 7_000, 0.69), row("me-bearer", 8_200, null), row("health", 9_500, 0.95)],
    postgres: null,
    ...overrides,
  };
}

test("bench file: a report bench.mjs writes is read, with the /api/me ratios to the bare route", () => {
  const reading = parseBenchReport(JSON.stringify(benchReport()));
  assert.equal(reading.status, "ok");
  if (reading.status !== "ok") return;
  assert.equal(reading.report.date, "2026-11-20T10:00:00.000Z");
  const ratios = benchRatios(reading.report);
  assert.deepEqual(
    ratios.map((ratio) => [ratio.database, ratio.key, Number(ratio.ratio.toFixed(2))]),
    [
      ["SQLite", "me-jwt", 0.81],
      ["SQLite", "me-database", 0.69],
      // No paired ratio in the file: req/s over the bare route's.
      ["SQLite", "me-bearer", 0.82],
    ],
  );
  const withPostgres = parseBenchReport(JSON.stringify(benchReport({ postgres: [{ key: "ping", label: "ping", rps: 5000 }, { key: "me-database", label: "db", rps: 3000, vsLimit: 0.6 }] })));
  assert.equal(withPostgres.status, "ok");
  if (withPostgres.status === "ok") assert.deepEqual(benchRatios(withPostgres.report).filter((ratio) => ratio.database === "PostgreSQL").map((ratio) => ratio.ratio), [0.6]);
  // Without the bare route there is nothing to compare with.
  const noPing = parseBenchReport(JSON.stringify(benchReport({ sqlite: [{ key: "me-jwt", label: "jwt", rps: 100 }] })));
  assert.equal(noPing.status, "ok");
  if (noPing.status === "ok") assert.deepEqual(benchRatios(noPing.report), []);
});

test("bench file: anything else is unusable, never an exception", () => {
  const bad = [
    "",
    "not json",
    "null",
    "[]",
    JSON.stringify({}),
    JSON.stringify(benchReport({ date: "yesterday" })),
    JSON.stringify(benchReport({ sqlite: "fast" })),
    JSON.stringify(benchReport({ sqlite: [{ key: "ping", label: "ping", rps: null }] })),
    JSON.stringify(benchReport({ sqlite: [{ key: "ping", label: "ping", rps: -1 }] })),
    JSON.stringify(benchReport({ revocationMode: "lenient" })),
    JSON.stringify(benchReport({ machine: 42 })),
    JSON.stringify(benchReport({ settings: { rounds: 0, durationSeconds: 5 } })),
  ];
  for (const text of bad) assert.deepEqual(parseBenchReport(text), { status: "unusable" }, text.slice(0, 80));
});

test("bench file on disk: absent, broken and good files", async () => {
  const root = mkdtempSync(join(testDir, "bench-"));
  assert.deepEqual(await readBenchReport(root), { status: "absent" });
  mkdirSync(join(root, "data", "results"), { recursive: true });
  writeFileSync(join(root, BENCH_FILE), "{ truncated");
  assert.deepEqual(await readBenchReport(root), { status: "unusable" });
  writeFileSync(join(root, BENCH_FILE), JSON.stringify(benchReport()));
  assert.equal((await readBenchReport(root)).status, "ok");
  // A directory where the file should be.
  const other = mkdtempSync(join(testDir, "bench-"));
  mkdirSync(join(other, BENCH_FILE), { recursive: true });
  assert.deepEqual(await readBenchReport(other), { status: "unusable" });
});

function costRow(key: string, tone: CostRow["tone"], reads: number, overBareMs: number, extra: Partial<CostRow> = {}): CostRow {
  return {
    key,
    label: key === "database" ? "Database session cookie" : key === "jwt" ? "JWT cookie" : "API access token (Bearer)",
    tone,
    p50Ms: 1 + overBareMs,
    overBareMs,
    refused: 0,
    requests: 40,
    reads: { perStep: reads, disturbed: 0 },
    redisCommands: null,
    verifyMicros: 100,
    verifyReads: reads,
    signatureMicros: tone === "token" ? 60 : null,
    storedBytes: key === "database" ? 260 : 200,
    stored: "",
    ...extra,
  };
}

test("cost verdict follows the reads per mode: strict reads for both, stateless only for the session, pushed for neither", () => {
  const strict = costVerdict("strict", [costRow("database", "session", 1, 0.3), costRow("jwt", "token", 1, 0.35), costRow("api", "token", 1, 0.3)]);
  assert.match(strict.verdict, /^Not here: with REVOCATION_MODE=strict the JWT reads the store on every request as well\./);
  assert.match(strict.verdict, /database session \+0\.30 ms and 1 read, JWT \+0\.35 ms and 1 read/);
  assert.match(strict.verdict, /260 bytes per database session \(260 MB per million users\), 200 bytes for the JWT's session record \(200 MB\)/);
  assert.match(strict.caveat, /read on every request/);

  const stateless = costVerdict("stateless", [costRow("database", "session", 1, 0.3), costRow("jwt", "token", 0, -0.05)]);
  assert.match(stateless.verdict, /^Partly true here: the database session reads the store on every request and the JWT does not/);
  assert.match(stateless.caveat, /still written at sign-in/);
  // Faster than the bare route is noise, shown as measured rather than hidden as zero.
  assert.match(stateless.verdict, /JWT −0\.05 ms and 0 reads/);

  const pushed = costVerdict("pushed", [costRow("database", "session", 0, 0.1), costRow("jwt", "token", 0, 0.1)]);
  assert.match(pushed.verdict, /^Not here: with REVOCATION_MODE=pushed neither reads the store per request/);
  assert.match(pushed.caveat, /read once per instance/);

  const refused = costVerdict("strict", [costRow("database", "session", 1, 0.3, { refused: 3 }), costRow("jwt", "token", 1, 0.3)]);
  assert.match(refused.verdict, /^Inconclusive: Database session cookie got answers other than 200/);
  // No figure for what was not found.
  assert.doesNotMatch(costVerdict("strict", [costRow("database", "session", 1, 0.3, { storedBytes: null }), costRow("jwt", "token", 1, 0.3)]).verdict, /Stored:/);
});

test("what the JWT's record costs, in words, per mode", () => {
  assert.match(tokenRecordUse("strict"), /read on every request/);
  assert.match(tokenRecordUse("pushed"), /read once per instance/);
  assert.match(tokenRecordUse("stateless"), /still written at sign-in .* not read per request/);
});

test("stored bytes of real session rows: the database session's row, the JWT's sid row, a token family with its refresh token", async () => {
  const context = { userAgent: "lab-test", ip: "127.0.0.1" };
  await withThrowawayAccount(async (account) => {
    const sizes: number[] = [];
    for (const strategy of browserStrategies(strategies)) {
      const issued = await strategy.issue(account.user, context);
      await account.track(issued.value);
      const sid = isSignedToken(issued.value) ? decodeJwt(issued.value).sid : (await findSessionByToken(issued.value))?.id;
      assert.ok(typeof sid === "string", strategy.kind);
      const bytes = await databaseSessionBytes(sid);
      assert.ok(bytes !== null, strategy.kind);
      sizes.push(bytes);
    }
    // The database session's row holds the cookie token's hash (43 characters) on top of what the JWT's row holds.
    const [databaseRow, jwtRow] = sizes;
    assert.ok(databaseRow !== undefined && jwtRow !== undefined);
    assert.ok(databaseRow - jwtRow >= 43, `${databaseRow} vs ${jwtRow}`);
    const pair = await issueTokenPair(account.user, context);
    await account.track(pair.access_token);
    const family = await databaseSessionBytes(String(decodeJwt(pair.access_token).sid));
    // The family's row plus a refresh-token row (its own id, the hash, the family's id, dates).
    assert.ok(family !== null && family > jwtRow + 43 + 25, `${family}`);
  });
  assert.equal(await databaseSessionBytes("no-such-session"), null);
});
