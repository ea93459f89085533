// The XSS experiment's logic: the server-side verdict from made-up figures,
// and the browser report's parser and claim (what the injected script read
// and used), including a report that contradicts the claim.
import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseXssReport, xssBrowserClaim, xssPayload } from "../lib/lab/browser-demos";
import { xssServerVerdict, type XssServerFigures } from "../lib/lab/xss";

const APP = "http://127.0.0.1:3000";

test("server verdict: where this server keeps credentials, and whether the demo page is served as it must be", () => {
  const figures: XssServerFigures = {
    sessionCookieHttpOnly: true,
    sameSite: "lax",
    demo: { reachable: true, framedStatus: 200, topLevelStatus: 403, cookieHttpOnly: true, frameAncestors: APP },
  };
  assert.match(xssServerVerdict(figures, APP).verdict, /both the database session and the browser JWT in HttpOnly cookies.*framable by http:\/\/127\.0\.0\.1:3000 alone/);
  assert.match(xssServerVerdict({ ...figures, demo: { ...figures.demo, frameAncestors: "*" } }, APP).verdict, /not served as expected/);
  assert.match(xssServerVerdict({ ...figures, sessionCookieHttpOnly: false }, APP).verdict, /NOT HttpOnly/);
});

test("browser report: token read, HttpOnly cookie unreadable but used; a readable cookie is reported as such", () => {
  assert.equal(parseXssReport({ type: "sot-demo-xss", token: 1, cookies: "", used: { status: 200 } }), null);
  assert.equal(parseXssReport(null), null);
  const report = parseXssReport({ type: "sot-demo-xss", token: "eyJhbGciOiJub25lIn0.e30.", cookies: "", used: { status: 200, authorizedBy: "demo_session cookie (HttpOnly)" } });
  assert.ok(report);
  const claim = xssBrowserClaim(report, "http://127.0.0.1:4000");
  assert.match(claim.verdict, /^True: the injected script read the token in localStorage \(24 characters\).*could not read the HttpOnly cookie — but it used it.*\(200\)/);
  assert.equal(claim.columns[0]?.figure, "not readable");
  const leaky = xssBrowserClaim({ ...report, cookies: "demo_session=abc" }, "http://127.0.0.1:4000");
  assert.match(leaky.verdict, /^Not as claimed/);
  assert.equal(leaky.columns[0]?.figure, "read by the script");
});

test("the injected script reports to the lab origin only", () => {
  const payload = xssPayload("http://127.0.0.1:3000");
  assert.match(payload, /^<script>.*parent\.postMessage\(r,"http:\/\/127\.0\.0\.1:3000"\)\}\)\(\)<\/script>$/);
});
