// The scaling experiment's logic without a cluster: the instance list from the
// environment (loopback only, fail closed), the per-instance summary, the
// recorded cluster benchmark (valid, absent, bad), and the verdict's words for
// a single instance and for a cluster — fed made-up answers, so every branch is
// reached whatever this server's configuration.
import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRecorded } from "../lib/lab/recorded";
import {
  BenchClusterSchema,
  benchFigures,
  scalingClaim,
  scalingVerdict,
  summarizeInstances,
  topology,
  type InstanceAnswer,
  type ScalingFacts,
} from "../lib/lab/scaling";
import { ClusterInstanceUrlsSchema } from "../lib/platform/env";
import { isLoopbackOrigin } from "../lib/platform/loopback";

test("cluster addresses are loopback http origins only; a bad list is refused, not trimmed", () => {
  for (const good of ["http://127.0.0.1:3000", "http://127.0.0.2:41001/", "http://[::1]:8080"]) assert.equal(isLoopbackOrigin(good), true, good);
  for (const bad of ["http://10.0.0.1:3000", "https://127.0.0.1:3000", "http://127.0.0.1", "http://localhost:3000", "http://127.0.0.1:3000/x", "http://u:p@127.0.0.1:1", "http://127.0.0.1:1?x", "nonsense"]) {
    assert.equal(isLoopbackOrigin(bad), false, bad);
  }
  assert.deepEqual(ClusterInstanceUrlsSchema.parse("app-1=http://127.0.0.1:41001, app-2=http://127.0.0.1:41002"), [
    { id: "app-1", url: "http://127.0.0.1:41001" },
    { id: "app-2", url: "http://127.0.0.1:41002" },
  ]);
  for (const bad of ["app-1=http://10.0.0.5:41001", "app-1=http://127.0.0.1:1,app-1=http://127.0.0.1:2", "http://127.0.0.1:41001", "app 1=http://127.0.0.1:1", "app-1=http://127.0.0.1:1,"]) {
    assert.equal(ClusterInstanceUrlsSchema.safeParse(bad).success, false, bad);
  }
});

test("topology: this server alone unless a cluster of several instances behind a balancer is configured", () => {
  const origin = new URL("http://127.0.0.1:5000");
  const single = topology({}, origin);
  assert.equal(single.cluster, false);
  assert.deepEqual(single.instances.map((instance) => [instance.id, instance.url.href]), [["this server", "http://127.0.0.1:5000/"]]);
  assert.equal(topology({ INSTANCE_ID: "app-1" }, origin).instances[0]?.id, "app-1");
  const instances = [
    { id: "app-1", url: "http://127.0.0.1:41001" },
    { id: "app-2", url: "http://127.0.0.1:41002" },
  ];
  assert.equal(topology({ CLUSTER_INSTANCE_URLS: instances }, origin).cluster, false, "no balancer: not asked as a cluster");
  const cluster = topology({ CLUSTER_INSTANCE_URLS: instances, CLUSTER_BALANCER_URL: "http://127.0.0.1:3000", INSTANCE_ID: "app-2" }, origin);
  assert.equal(cluster.cluster, true);
  assert.deepEqual(cluster.instances.map((instance) => instance.id), ["app-1", "app-2"]);
  assert.equal(cluster.balancer?.port, "3000");
});

function answers(credential: InstanceAnswer["credential"], byInstance: Record<string, number | null>, balancer: (string | null)[] = []): InstanceAnswer[] {
  return [
    ...Object.entries(byInstance).flatMap(([id, status]) => [1, 2, 3].map(() => ({ credential, asked: id, answeredBy: id, status }))),
    ...balancer.map((id) => ({ credential, asked: "balancer", answeredBy: id, status: id ? 200 : null })),
  ];
}

test("per-instance summary: accepted only when every direct request was; refusals and no answers named; who answered through the balancer", () => {
  const ids = ["app-1", "app-2", "app-3"];
  const summaries = summarizeInstances(
    [
      ...answers("database", { "app-1": 200, "app-2": 200, "app-3": 200 }, ["app-1", "app-2", "app-3", "app-1"]),
      ...answers("jwt", { "app-1": 200, "app-2": 401, "app-3": null }, ["app-2", null]),
    ],
    ids,
  );
  assert.deepEqual(
    summaries.map((summary) => summary.credential),
    ["database", "jwt"],
    "a credential that was not presented is left out",
  );
  const [database, jwt] = summaries;
  assert.deepEqual(database?.acceptedBy, ids);
  assert.deepEqual(database?.refusedBy, []);
  assert.deepEqual(database?.viaBalancer, { instances: ["app-1", "app-2", "app-3"], sent: 4, accepted: 4 });
  assert.deepEqual(jwt?.acceptedBy, ["app-1"]);
  assert.deepEqual(jwt?.refusedBy, ["app-2", "app-3"]);
  assert.deepEqual(jwt?.viaBalancer, { instances: ["app-2"], sent: 2, accepted: 1 });
});

const bench = {
  date: "2026-11-20T10:00:00.000Z",
  machine: "node v24, 2 CPU(s)",
  settings: { connections: 10, warmupSeconds: 2, rounds: 3, durationSeconds: 5, instances: 3 },
  cluster: [
    {
      mode: "strict",
      store: "database",
      instances: 1,
      rows: [
        { key: "ping", label: "GET /api/ping", rps: 4000, p50: 2, p99: 5, cpuMsPerRequest: 0.2 },
        { key: "me-database", label: "GET /api/me, database cookie", rps: 1000, p50: 9, p99: 20, cpuMsPerRequest: 0.9 },
        { key: "me-jwt", label: "GET /api/me, JWT cookie", rps: 1200, p50: 8, p99: 18, cpuMsPerRequest: 0.8 },
      ],
    },
    {
      mode: "strict",
      store: "database",
      instances: 3,
      rows: [
        { key: "me-database", label: "GET /api/me, database cookie", rps: 1800, p50: 9, p99: 20, cpuMsPerRequest: null, storeReadsPerRequest: { postgres: 1.01, redis: null } },
        { key: "me-jwt", label: "GET /api/me, JWT cookie", rps: 2400, p50: 8, p99: 18, cpuMsPerRequest: 0.8, storeReadsPerRequest: { postgres: 0.02, redis: 1 } },
      ],
    },
  ],
};

test("the recorded cluster benchmark: figures when valid; absent and bad files said as such", () => {
  const parsed = parseRecorded(JSON.stringify(bench), BenchClusterSchema);
  assert.equal(parsed.state, "ok");
  if (parsed.state !== "ok") return;
  const figures = benchFigures(parsed.value);
  assert.deepEqual(
    figures.map((figure) => [figure.key, figure.instances, figure.rpsOne, figure.rpsMany, figure.storeOps]),
    [
      ["strict-database-database", 3, 1000, 1800, 1.01],
      ["strict-database-jwt", 3, 1200, 2400, 1.02],
    ],
  );
  assert.deepEqual(parseRecorded(null, BenchClusterSchema), { state: "absent" });
  assert.deepEqual(parseRecorded("{not json", BenchClusterSchema), { state: "invalid", problem: "not JSON" });
  for (const bad of [{}, { ...bench, date: "yesterday" }, { ...bench, cluster: [] }, { ...bench, cluster: [{ ...bench.cluster[0], mode: "sometimes" }] }, [], "text"]) {
    const result = parseRecorded(JSON.stringify(bad), BenchClusterSchema);
    assert.equal(result.state, "invalid", JSON.stringify(bad).slice(0, 60));
  }
});

function facts(overrides: Partial<ScalingFacts>): ScalingFacts {
  const ids = overrides.topology?.instances ?? ["app-1", "app-2", "app-3"];
  return {
    topology: { cluster: true, instances: ids },
    summaries: summarizeInstances(
      (["database", "jwt", "api"] as const).flatMap((credential) => answers(credential, Object.fromEntries(ids.map((id) => [id, 200])), ids)),
      ids,
    ),
    reads: { database: 1, jwt: 0, api: 0 },
    mode: "pushed",
    sessionStore: "database",
    bench: { state: "absent" },
    ...overrides,
  };
}

test("single instance: says so, and shows the last cluster benchmark or names the command that records one", () => {
  const single = { topology: { cluster: false, instances: ["this server"] } };
  const ids = ["this server"];
  const summaries = summarizeInstances(
    (["database", "jwt", "api"] as const).flatMap((credential) => answers(credential, { "this server": 200 })),
    ids,
  );
  const absent = scalingVerdict(facts({ ...single, summaries }));
  assert.match(absent.verdict, /^Not observable here: this server runs as a single instance \(this server; no cluster configured\)/);
  assert.match(absent.verdict, /It accepted every credential/);
  assert.match(absent.verdict, /no cluster benchmark recorded yet \(run `npm run bench -- --cluster`\)/);
  assert.match(absent.caveat, /npm run cluster/);
  const bad = scalingVerdict(facts({ ...single, summaries, bench: { state: "invalid", problem: "not JSON" } }));
  assert.match(bad.verdict, /is not valid \(not JSON\); run `npm run bench -- --cluster` again/);

  const recorded = parseRecorded(JSON.stringify(bench), BenchClusterSchema);
  const claim = scalingClaim(facts({ ...single, summaries, bench: recorded }));
  assert.match(claim.verdict, /the last cluster benchmark \(2026-11-20 10:00 UTC\) is shown below/);
  assert.deepEqual(
    claim.columns.map((column) => [column.key, column.figure]),
    [
      ["database", "accepted (single instance)"],
      ["jwt", "accepted (single instance)"],
      ["api", "accepted (single instance)"],
    ],
  );
  assert.match(claim.columns[0]?.detail ?? "", /last cluster benchmark: strict\/database: ×1\.80 req\/s from 1 to 3 instances, 1\.01 store ops\/request/);
  assert.equal(claim.tables.length, 2, "the acceptance table and the benchmark's");
  assert.deepEqual(claim.tables[1]?.rows.map((row) => row.cells[3]), ["×1.80", "×2.00"]);
  assert.equal(claim.tables[0]?.rows.filter((row) => row.key.startsWith("instance-")).length, 1);
});

test("cluster: every instance named; refusals named; reads compared in the running mode", () => {
  const all = scalingVerdict(facts({}));
  assert.match(all.verdict, /^Both scale out here: each of the 3 instances \(app-1, app-2, app-3\) accepted the database session, the browser JWT and the API access token \(Bearer\), directly and through the load balancer/);
  assert.match(all.verdict, /Database reads per request on this instance: the database session 1\.00, the browser JWT 0\.00, the API access token \(Bearer\) 0\.00 \(REVOCATION_MODE=pushed\): the JWT leaves the shared store alone/);
  assert.match(scalingVerdict(facts({ reads: { database: 1, jwt: 1, api: 1 }, mode: "strict" })).verdict, /the JWT needed the shared store as much as the session did/);
  assert.match(scalingVerdict(facts({ sessionStore: "redis" })).caveat, /SESSION_STORE=redis/);

  const ids = ["app-1", "app-2"];
  const refused = facts({
    topology: { cluster: true, instances: ids },
    summaries: summarizeInstances([...answers("database", { "app-1": 200, "app-2": 200 }), ...answers("jwt", { "app-1": 200, "app-2": 401 })], ids),
  });
  assert.match(scalingVerdict(refused).verdict, /^Not on every instance: the browser JWT was refused by app-2 \(of 2 instances\)/);

  const claim = scalingClaim(facts({}));
  assert.deepEqual(
    claim.tables[0]?.rows.map((row) => row.cells[0]),
    ["app-1", "app-2", "app-3", "through the load balancer", "database reads per request (this instance)"],
  );
  assert.equal(claim.columns[1]?.figure, "accepted by 3 of 3 instances");
  assert.match(claim.tables[0]?.rows[3]?.cells[1] ?? "", /^3\/3 accepted, answered by app-1, app-2, app-3$/);
});
