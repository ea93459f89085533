// The outage experiment's logic: the outage test's recorded file (valid,
// absent, bad), what each strategy did while the database was down, and the
// verdict's words for each outcome — fed made-up recordings, so every branch is
// reached without stopping a database.
import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { OutageFileSchema, outageClaim, outageVerdict, outcomes, orderedRuns, recordedAt, type Observation, type OutageFile } from "../lib/lab/outage";
import { parseRecorded } from "../lib/lab/recorded";

function seen(key: string, request: string, credential: Observation["credential"], outage: number | null, baseline: number | null = 200, recovered: number | null = 200): Observation {
  return { key, request, credential, baseline, outage, recovered };
}

const strictRun = {
  recordedAt: "2026-11-23T03:00:00.000Z",
  unavailable: "database" as const,
  database: "postgresql" as const,
  revocationMode: "strict" as const,
  requests: [
    seen("me-database", "GET /api/me", "database", 503),
    seen("me-jwt", "GET /api/me", "jwt", 503),
    seen("dashboard-database", "GET /dashboard", "database", 503),
    seen("dashboard-jwt", "GET /dashboard", "jwt", 503),
    seen("token-none", "POST /api/token (password grant)", "none", 503),
  ],
};
const statelessRun = {
  ...strictRun,
  recordedAt: "2026-11-23T03:00:05.000Z",
  revocationMode: "stateless" as const,
  requests: [
    seen("me-database", "GET /api/me", "database", 503),
    seen("me-jwt", "GET /api/me", "jwt", 200),
    seen("dashboard-database", "GET /dashboard", "database", 503),
    seen("dashboard-jwt", "GET /dashboard", "jwt", 503),
  ],
};
const redisRun = {
  recordedAt: "2026-11-23T02:59:00.000Z",
  unavailable: "redis" as const,
  database: "sqlite" as const,
  revocationMode: "strict" as const,
  requests: [seen("token-right-password", "POST /api/token, right password", "none", 503, null), seen("health", "GET /api/health", "none", 200)],
};

const file = (runs: OutageFile["runs"]): OutageFile => ({ version: 1, runs });
const ok = (runs: OutageFile["runs"]) => ({ state: "ok" as const, value: file(runs) });

test("the recorded file is taken only whole and valid", () => {
  const parsed = parseRecorded(JSON.stringify(file({ "database-strict": strictRun, "redis-strict": redisRun })), OutageFileSchema);
  assert.equal(parsed.state, "ok");
  assert.deepEqual(parseRecorded(null, OutageFileSchema), { state: "absent" });
  assert.deepEqual(parseRecorded("]", OutageFileSchema), { state: "invalid", problem: "not JSON" });
  const bad: unknown[] = [
    {},
    { version: 2, runs: { "database-strict": strictRun } },
    { version: 1, runs: {} },
    { version: 1, runs: { "database-strict": { ...strictRun, recordedAt: "noon" } } },
    { version: 1, runs: { "database-strict": { ...strictRun, requests: [] } } },
    { version: 1, runs: { "database-strict": { ...strictRun, requests: [{ ...strictRun.requests[0], outage: 42 }] } } },
    { version: 1, runs: { "Database Strict!": strictRun } },
    { version: 1, runs: { "database-strict": { ...strictRun, unavailable: "network" } } },
  ];
  for (const value of bad) assert.equal(parseRecorded(JSON.stringify(value), OutageFileSchema).state, "invalid", JSON.stringify(value).slice(0, 80));
});

test("outcomes per strategy across the database outages; runs in a stable order; the newest recording time", () => {
  const recorded = file({ "redis-strict": redisRun, "database-stateless": statelessRun, "database-strict": strictRun });
  assert.deepEqual(
    orderedRuns(recorded).map(([name]) => name),
    ["database-strict", "database-stateless", "redis-strict"],
  );
  const [session, token] = outcomes(recorded);
  assert.deepEqual(session, { credential: "database", working: [], statuses: [503], modes: ["strict", "stateless"], total: 4 });
  assert.deepEqual(token?.working, ["GET /api/me (stateless): 200"]);
  assert.deepEqual(token?.statuses, [200, 503]);
  assert.equal(recordedAt(recorded), "2026-11-23T03:00:05.000Z");
});

test("verdict: both fail closed; a stateless JWT that kept working; a database session that did; absent and bad files name the commands", () => {
  const closed = outageVerdict(ok({ "database-strict": strictRun }));
  assert.match(closed.verdict, /^Both fail closed: with PostgreSQL stopped, every request with a database session or a JWT answered 503 \(REVOCATION_MODE=strict; recorded 2026-11-23 03:00 UTC by the outage test\)/);

  const stateless = outageVerdict(ok({ "database-strict": strictRun, "database-stateless": statelessRun, "redis-strict": redisRun }));
  assert.match(stateless.verdict, /^Database sessions fail closed \(every request 503\); a JWT kept working for: GET \/api\/me \(stateless\): 200 — the rest answered 503/);
  assert.match(stateless.caveat, /With Redis \(rate-limit counters\) stopped: POST \/api\/token, right password 503, GET \/api\/health 200/);
  assert.match(stateless.caveat, /REVOCATION_MODE=\w+\) is not stopped for this/);

  const open = { ...strictRun, requests: [seen("me-database", "GET /api/me", "database", 200), seen("me-jwt", "GET /api/me", "jwt", 503)] };
  assert.match(outageVerdict(ok({ "database-strict": open })).verdict, /^Not fail-closed: .*GET \/api\/me \(strict\): 200/);
  assert.match(outageVerdict(ok({ "redis-strict": redisRun })).verdict, /has no database outage with both strategies/);

  const absent = outageVerdict({ state: "absent" });
  assert.match(absent.verdict, /^No outage test recorded yet: run `npm run compare -- --outage` or `npm test -- --only=outage`/);
  const invalid = outageVerdict({ state: "invalid", problem: "not JSON" });
  assert.match(invalid.verdict, /data\/results\/outage\.json\) is not valid \(not JSON\): run `npm run compare -- --outage`/);
});

test("the claim: a column per strategy, a chart of what still worked, one table per recorded run", () => {
  const claim = outageClaim(ok({ "database-strict": strictRun, "database-stateless": statelessRun, "redis-strict": redisRun }));
  assert.deepEqual(
    claim.columns.map((column) => [column.key, column.figure]),
    [
      ["database", "fails closed: 503 on every request"],
      ["jwt", "1 of 4 requests still worked"],
    ],
  );
  assert.match(claim.columns[1]?.detail ?? "", /^worked: GET \/api\/me \(stateless\): 200; 3 answered 503$/);
  assert.deepEqual(
    claim.charts[0]?.bars.map((bar) => [bar.key, bar.display]),
    [
      ["database-strict-database", "0 of 2"],
      ["database-strict-jwt", "0 of 2"],
      ["database-stateless-database", "0 of 2"],
      ["database-stateless-jwt", "1 of 2"],
    ],
  );
  assert.equal(claim.tables.length, 3);
  assert.match(claim.tables[1]?.caption ?? "", /^PostgreSQL stopped under a server with REVOCATION_MODE=stateless \(recorded 2026-11-23 03:00 UTC\)$/);
  assert.deepEqual(claim.tables[1]?.rows[1]?.cells, ["GET /api/me — browser JWT", "200", "200", "200"]);
  assert.deepEqual(claim.tables[2]?.rows[0]?.cells, ["POST /api/token, right password — no credential", "—", "503", "200"]);

  const none = outageClaim({ state: "absent" });
  assert.deepEqual(
    none.columns.map((column) => column.figure),
    ["not recorded yet", "not recorded yet"],
  );
  assert.equal(none.tables.length, 0);
  assert.equal(none.charts.length, 0);
});
