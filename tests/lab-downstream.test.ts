// The "across origins" experiment's logic without a server: the loopback
// guard on DOWNSTREAM_URL, the demo frame origins (both loopback names), and
// the verdict from made-up figures; then the downstream service's demo routes,
// served by its own createApp on a free loopback port.
import "./support/test-env";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { downstreamClaim, downstreamVerdict, type DownstreamFigures } from "../lib/lab/downstream";
import { downstreamLoopbackTarget } from "../lib/lab/demo-origins";

const APP = "http://127.0.0.1:3000";

test("the lab sends to the downstream service only on loopback http", () => {
  assert.equal(downstreamLoopbackTarget("http://127.0.0.1:4000")?.host, "127.0.0.1:4000");
  assert.equal(downstreamLoopbackTarget("http://localhost:4000")?.host, "127.0.0.1:4000");
  assert.equal(downstreamLoopbackTarget("http://[::1]:4000")?.hostname, "[::1]");
  for (const bad of ["http://example.com:4000", "https://127.0.0.1:4000", "http://10.0.0.1:4000", "http://u:p@127.0.0.1:4000", "nonsense"]) {
    assert.equal(downstreamLoopbackTarget(bad), null, bad);
  }
});

function figures(overrides: Partial<DownstreamFigures> = {}): DownstreamFigures {
  return {
    url: "http://127.0.0.1:4000",
    unavailable: null,
    token: { app: 200, downstream: 200, greeting: "Hello, lab" },
    session: { app: 200, downstream: 401 },
    preflight: { app: { status: 204, allowOrigin: APP, allowCredentials: null, allowHeaders: "Authorization" }, other: { status: 403, allowOrigin: null } },
    ...overrides,
  };
}

test("downstream verdict follows the figures", () => {
  const yes = downstreamVerdict(figures(), APP);
  assert.match(yes.verdict, /^True here: .*accepted the API access token \(200\).*refused the database session cookie \(401\).*exactly http:\/\/127\.0\.0\.1:3000.*without credentials/);
  assert.match(downstreamVerdict(figures({ token: { app: 200, downstream: 401, greeting: null } }), APP).verdict, /^Not as claimed here/);
  assert.match(downstreamVerdict(figures({ session: { app: 401, downstream: 401 } }), APP).verdict, /^Inconclusive/);
  assert.match(downstreamVerdict(figures({ unavailable: "not-loopback" }), APP).verdict, /^Not measured: DOWNSTREAM_URL/);
  assert.match(downstreamVerdict(figures({ unavailable: "not-answering" }), APP).verdict, /did not answer/);
  const credentials = downstreamVerdict(figures({ preflight: { app: { status: 204, allowOrigin: APP, allowCredentials: "true", allowHeaders: null }, other: { status: 403, allowOrigin: null } } }), APP);
  assert.doesNotMatch(credentials.verdict, /without credentials/);
  const claim = downstreamClaim(figures(), APP);
  assert.deepEqual(claim.columns.map((column) => column.key), ["session", "token"]);
  assert.equal(claim.tables[1]?.rows[1]?.cells[2], "none");
  assert.equal(downstreamClaim(figures({ unavailable: "not-answering" }), APP).charts.length, 0);
});

interface ServiceModule {
  createApp(config: Record<string, unknown>, options: { log: (line: string) => void }): http.RequestListener;
  readConfig(source: Record<string, string>): Record<string, unknown>;
}

async function service(): Promise<{ url: string; close(): Promise<void> }> {
  const downstreamService = (await import("../examples/downstream/service.mjs" as string)) as ServiceModule;
  const config = downstreamService.readConfig({ APP_ORIGIN: APP });
  const server = http.createServer(downstreamService.createApp(config, { log: () => undefined }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test("the downstream demo pages: framed only, framable by the app alone, an HttpOnly demo cookie that authorizes the demo account", async () => {
  const { url, close } = await service();
  try {
    const topLevel = await fetch(`${url}/demo/xss`, { headers: { "sec-fetch-dest": "document" } });
    assert.equal(topLevel.status, 403);
    const framed = await fetch(`${url}/demo/xss?note=${encodeURIComponent("<b>hi</b>")}`, { headers: { "sec-fetch-dest": "iframe" } });
    assert.equal(framed.status, 200);
    assert.match(framed.headers.get("content-security-policy") ?? "", new RegExp(`frame-ancestors ${APP}$`));
    const setCookie = framed.headers.get("set-cookie") ?? "";
    assert.match(setCookie, /^demo_session=[^;]+; HttpOnly; SameSite=Lax; Path=\/demo\//);
    const html = await framed.text();
    assert.match(html, /<p>Your note: <b>hi<\/b><\/p>/, "the note is reflected unescaped: the deliberate flaw");
    assert.match(html, /localStorage\.setItem\("demo_access_token", "eyJ/);
    const cookie = setCookie.split(";")[0] ?? "";
    assert.equal((await fetch(`${url}/demo/xss/account`, { headers: { cookie } })).status, 200);
    assert.equal((await fetch(`${url}/demo/xss/account`)).status, 401);
    assert.equal((await fetch(`${url}/demo/xss/account`, { headers: { cookie: "demo_session=forged.value" } })).status, 401);
    assert.equal((await fetch(`${url}/demo/xss?note=${"x".repeat(5000)}`, { headers: { "sec-fetch-dest": "iframe" } })).status, 400);

    const csrf = await fetch(`${url}/demo/csrf`, { headers: { "sec-fetch-dest": "iframe" } });
    assert.equal(csrf.status, 200);
    const csp = csrf.headers.get("content-security-policy") ?? "";
    assert.match(csp, new RegExp(`connect-src ${APP};`));
    assert.match(csp, new RegExp(`frame-ancestors ${APP}$`));
    assert.match(await csrf.text(), new RegExp(`action="${APP}/api/compare/csrf-demo/transfer"[\\s\\S]*postMessage\\(report, "${APP}"\\)`));
    assert.equal((await fetch(`${url}/demo/csrf`)).status, 403);
    assert.equal((await fetch(`${url}/demo/csrf`, { method: "POST", headers: { "sec-fetch-dest": "iframe" } })).status, 405);
  } finally {
    await close();
  }
});
