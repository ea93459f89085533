// The CSRF experiment without a browser: the demo endpoint itself (its route
// handler, the real publicRoute and origin check), each defence named in its
// answer; the verdicts from made-up answers; the browser report's parser.
import "./support/test-env";
import "./support/react-server-layer";
import assert from "node:assert/strict";
import { test } from "node:test";
import { POST as transfer } from "../app/api/compare/csrf-demo/transfer/route";
import { csrfBrowserClaim, parseCsrfReport, parseDemoVerdict, formatDemoVerdict, type CsrfAnswer } from "../lib/lab/browser-demos";
import { csrfVerdict, type CsrfCase } from "../lib/lab/csrf";
import { DEMO_COOKIE_NAME, issueDemoCredentials } from "../lib/lab/csrf-demo";

const ORIGIN = "http://app.test";
const verdictOf = (response: Response) => parseDemoVerdict(response.headers.get("x-csrf-demo"));
const post = (headers: Record<string, string>) =>
  transfer(new Request(`${ORIGIN}/api/compare/csrf-demo/transfer`, { method: "POST", headers: { host: "app.test", "content-type": "application/x-www-form-urlencoded", ...headers }, body: "amount=1" }));

test("the demo transfer: the cookie authorizes it from this origin; the origin check refuses it from any other; a forged Bearer request has no credential", async () => {
  const { cookie, bearer } = await issueDemoCredentials(false);
  assert.equal(cookie.options.sameSite, "lax");
  assert.equal(cookie.options.httpOnly, true);
  const withCookie = { cookie: `${DEMO_COOKIE_NAME}=${cookie.value}` };
  const control = await post({ ...withCookie, origin: ORIGIN, "sec-fetch-site": "same-origin" });
  assert.equal(control.status, 200);
  assert.deepEqual(verdictOf(control), { outcome: "accepted", refusedBy: null, cookie: "valid", authorization: "absent", originCheck: "passed" });
  const sameSite = await post({ ...withCookie, origin: "http://127.0.0.1:4000", "sec-fetch-site": "same-site" });
  assert.equal(sameSite.status, 403);
  assert.deepEqual(await sameSite.json(), { error: "forbidden" });
  assert.deepEqual(verdictOf(sameSite), { outcome: "refused", refusedBy: "origin-check", cookie: "valid", authorization: "absent", originCheck: "refused" });
  // The demo's own pages may read that answer (credentialed CORS); any other origin may not.
  assert.equal(sameSite.headers.get("access-control-allow-origin"), "http://127.0.0.1:4000");
  assert.equal(sameSite.headers.get("access-control-allow-credentials"), "true");
  const stranger = await post({ ...withCookie, origin: "http://127.0.0.1:5999", "sec-fetch-site": "same-site" });
  assert.equal(stranger.status, 403);
  assert.equal(stranger.headers.get("access-control-allow-origin"), null);
  const noOrigin = await post(withCookie);
  assert.equal(noOrigin.status, 403);
  assert.equal(verdictOf(noOrigin)?.refusedBy, "origin-check");
  const bearerOk = await post({ authorization: `Bearer ${bearer}`, origin: ORIGIN });
  assert.equal(bearerOk.status, 200);
  const forged = await post({});
  assert.equal(forged.status, 401);
  assert.deepEqual(await forged.json(), { error: "unauthorized" });
  assert.equal(verdictOf(forged)?.refusedBy, "credential");
  // A cookie value used as a Bearer token, and a made-up one, are not credentials.
  assert.equal((await post({ authorization: `Bearer ${cookie.value}`, origin: ORIGIN })).status, 401);
  assert.equal((await post({ cookie: `${DEMO_COOKIE_NAME}=demo.x.y`, origin: ORIGIN })).status, 401);
});

function item(key: string, side: "session" | "token", outcome: "accepted" | "refused", refusedBy: CsrfAnswer["refusedBy"], cookie: CsrfAnswer["cookie"] = "valid"): CsrfCase {
  return { key, label: key, side, sends: "", status: outcome === "accepted" ? 200 : refusedBy === "credential" ? 401 : 403, verdict: { outcome, refusedBy, cookie, authorization: "absent", originCheck: refusedBy === "origin-check" ? "refused" : "passed" } };
}

test("csrf verdict names each defence; a forged request accepted makes the claim true; a failed control is inconclusive", () => {
  const good = [
    item("cookie-same-origin", "session", "accepted", null),
    item("cookie-same-site", "session", "refused", "origin-check"),
    item("cookie-cross-site", "session", "refused", "origin-check", "absent"),
    item("cookie-no-origin", "session", "refused", "origin-check"),
    item("bearer-same-origin", "token", "accepted", null),
    item("bearer-forged", "token", "refused", "credential", "absent"),
  ];
  const verdict = csrfVerdict(good);
  assert.match(verdict.verdict, /^Not on this server: .*refused by the origin check \(403\).*does not even attach it \(SameSite=lax\).*Bearer token needs neither.*\(401\)/);
  const broken = good.map((entry) => (entry.key === "cookie-same-site" ? item("cookie-same-site", "session", "accepted", null) : entry));
  assert.match(csrfVerdict(broken).verdict, /^True here/);
  assert.match(csrfVerdict(good.map((entry) => (entry.key === "cookie-same-origin" ? item("cookie-same-origin", "session", "refused", "credential") : entry))).verdict, /^Inconclusive/);
});

test("the browser's CSRF reports: parsed strictly, each defence named", () => {
  assert.equal(parseCsrfReport({ type: "other" }), null);
  assert.equal(parseCsrfReport({ type: "sot-demo-csrf", pageOrigin: 1, status: 0 }), null);
  const verdict = (cookie: CsrfAnswer["cookie"]) => formatDemoVerdict({ outcome: "refused", refusedBy: "origin-check", cookie, authorization: "absent", originCheck: "refused" });
  const cross = parseCsrfReport({ type: "sot-demo-csrf", pageOrigin: "http://localhost:4000", status: 403, verdict: verdict("absent") });
  const same = parseCsrfReport({ type: "sot-demo-csrf", pageOrigin: "http://127.0.0.1:4000", status: 403, verdict: verdict("valid") });
  assert.ok(cross && same);
  assert.equal(parseCsrfReport({ type: "sot-demo-csrf", pageOrigin: "x", status: 0, verdict: "outcome=maybe" })?.answer, null);
  const claim = csrfBrowserClaim([{ relation: "cross-site", report: cross }, { relation: "same-site", report: same }]);
  assert.match(claim.verdict, /^Not here: from another site \(http:\/\/localhost:4000\) the browser did not attach the cookie \(SameSite\); .* attached it, and the server's origin check refused the request/);
  assert.equal(claim.columns[1]?.figure, "never attached");
});
