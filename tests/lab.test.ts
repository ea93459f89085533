// The comparison lab's server side without a browser: the route's input
// schema, the verdicts (fed made-up figures, so each branch is reached whatever
// this server's configuration), the loopback-origin guard, and the throwaway
// account leaving nothing behind.
import "./support/test-env";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { MAX_RUNS_ADMITTED, RunInputSchema, admitRun, experimentSummaries } from "../lib/lab";
import { loopbackOrigin } from "../lib/lab/loopback";
import { withThrowawayAccount } from "../lib/lab/throwaway";
import { growthVerdict, lightweightVerdict, revocationVerdict, type RevocationRow, type SizeRow } from "../lib/lab/verdicts";
import { db } from "../lib/platform/db";
import { issueTokenPair, revokeToken } from "../lib/strategies/api";
import { browserStrategies, strategies } from "../lib/strategies";

test("the run input is exactly one known experiment or all of them", () => {
  for (const { id } of experimentSummaries()) assert.equal(RunInputSchema.safeParse({ experiment: id }).success, true, id);
  assert.equal(RunInputSchema.safeParse({ experiment: "all" }).success, true);
  for (const bad of [{}, { experiment: "All" }, { experiment: "" }, { experiment: 1 }, { experiment: "size", extra: true }, [], null, "size"]) {
    assert.equal(RunInputSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

const now = Date.parse("2026-01-01T00:00:00Z");
function row(key: string, role: RevocationRow["role"], refusedAfterMs: number | null, acceptedBefore = true): RevocationRow {
  return { key, label: key, role, acceptedBefore, refusedAfterMs, probedForMs: 1500, expiresAt: now + 3600_000, revokedAt: now };
}

test("revocation verdict follows the figures: both refused (strict, pushed), JWT accepted until exp (stateless), failed control, broken sign-out", () => {
  const refused = [row("db", "session", 2), row("jwt", "token", 3), row("refresh", "refresh", 1), row("offline", "offline", null)];
  const strict = revocationVerdict("strict", refused);
  assert.match(strict.verdict, /^Both were revocable here/);
  assert.match(strict.verdict, /REVOCATION_MODE=strict looks the token's session \(sid\) up/);
  assert.match(strict.caveat, /public key still accepted the revoked JWT.*1 h/);
  assert.match(revocationVerdict("pushed", refused).verdict, /pushes every revocation/);

  const stateless = revocationVerdict("stateless", [row("db", "session", 2), row("jwt", "token", null), row("offline", "offline", null)]);
  assert.match(stateless.verdict, /^True here: .*stays valid until exp \(1 h later\).*REVOCATION_MODE=stateless/);

  assert.match(revocationVerdict("strict", [row("db", "session", 2, false), row("jwt", "token", 2)]).verdict, /^Inconclusive: db/);
  assert.match(revocationVerdict("strict", [row("db", "session", null), row("jwt", "token", 2)]).verdict, /^Not confirmed/);
  assert.match(revocationVerdict("pushed", [row("db", "session", 1), row("a", "token", 1), row("b", "token", null)]).verdict, /^Mixed/);
});

function size(label: string, cookieBytes: number, p50Ms: number | null, status: number | null = 200): SizeRow {
  return { key: label, label, extraBytes: 0, cookieBytes, p50Ms, requestsPerSecond: p50Ms === null ? null : 1000 / p50Ms, status };
}

test("size verdicts name the measured bytes, the cookie limit crossed and the server's answer", () => {
  const light = lightweightVerdict(size("Database session", 55, 1), size("JWT", 338, 1.1));
  assert.match(light.verdict, /55 bytes and the JWT cookie 338 bytes \(6\.1×\)/);
  const rows = [size("JWT as issued", 338, 1), size("JWT + 2 KB claims", 3100, 1.1), size("JWT + 8 KB claims", 11300, 1.4)];
  const growth = growthVerdict(rows, size("JWT + 16 KB claims", 22200, null, 431), 16384);
  assert.match(growth.verdict, /from JWT \+ 8 KB claims \(11300 bytes\) on, the cookie is over 4096 bytes/);
  assert.match(growth.verdict, /got 431/);
  assert.match(growthVerdict(rows, size("big", 22200, null, null), 16384).verdict, /no answer \(connection closed\)/);
});

test("the loopback origin is taken only as a loopback http origin", () => {
  const headers = (value: string | null) => ({ get: (name: string) => (name === "x-sot-loopback-origin" ? value : null) });
  assert.equal(loopbackOrigin(headers("http://127.0.0.1:3000"))?.port, "3000");
  assert.equal(loopbackOrigin(headers("http://[::1]:3000"))?.hostname, "[::1]");
  for (const bad of [null, "", "http://example.com:3000", "https://127.0.0.1:3000", "http://127.0.0.1", "http://10.0.0.1:3000", "http://127.0.0.1:3000/x", "http://u@127.0.0.1:1", "nonsense"]) {
    assert.equal(loopbackOrigin(headers(bad)), null, String(bad));
  }
});

test("a throwaway account leaves nothing behind: sessions of every kind, audit rows, the account", async () => {
  const context = { userAgent: "lab-test", ip: "127.0.0.1" };
  let userId = "";
  await withThrowawayAccount(async (account) => {
    userId = account.user.id;
    for (const strategy of browserStrategies(strategies)) {
      const issued = await strategy.issue(account.user, context);
      await account.track(issued.value);
      await strategy.revoke(issued.value);
    }
    const pair = await issueTokenPair(account.user, context);
    await account.track(pair.access_token);
    await revokeToken(pair.refresh_token, context);
    assert.ok((await db().auditEvent.count({ where: { userId } })) > 0, "revoking a family is audited");
  });
  assert.equal(await db().user.count({ where: { id: userId } }), 0);
  assert.equal(await db().session.count({ where: { userId } }), 0);
  assert.equal(await db().auditEvent.count({ where: { userId } }), 0);
});

test("a throwaway account is removed when the run fails too", async () => {
  let userId = "";
  await assert.rejects(
    withThrowawayAccount(async (account) => {
      userId = account.user.id;
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal(await db().user.count({ where: { id: userId } }), 0);
});

/** A loopback origin where nothing listens: the experiments' requests fail at once, so a run ends quickly. */
async function closedLoopbackOrigin(): Promise<URL> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return new URL(`http://127.0.0.1:${port}/`);
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const text = await new Response(stream).text();
  return text.split("\n").filter(Boolean);
}

test("one run at a time per address, at most MAX_RUNS_ADMITTED at once, and the address is free again when its run has ended", async () => {
  const lab = { origin: await closedLoopbackOrigin(), https: false, context: { ip: "198.51.100.1", userAgent: "lab test" } };
  const first = admitRun("198.51.100.1", "revocation", lab);
  assert.equal(first.admitted, true);
  // The same address while its run goes on: refused, not queued.
  assert.deepEqual(admitRun("198.51.100.1", "size", lab), { admitted: false, reason: "client-busy" });
  const others = Array.from({ length: MAX_RUNS_ADMITTED - 1 }, (_, index) => admitRun(`198.51.100.${index + 2}`, "revocation", lab));
  assert.ok(others.every((run) => run.admitted));
  assert.deepEqual(admitRun("198.51.100.99", "revocation", lab), { admitted: false, reason: "server-busy" });

  const streams = [first, ...others].map((run) => (run.admitted ? run.stream : null)).filter((stream) => stream !== null);
  const lines = await Promise.all(streams.map(drain));
  for (const events of lines) assert.match(events.at(-1) ?? "", /^\{"type":"(result|error)","experiment":"revocation"/);
  const again = admitRun("198.51.100.1", "revocation", lab);
  assert.equal(again.admitted, true);
  if (again.admitted) await drain(again.stream);
});
