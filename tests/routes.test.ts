// Every route handler under app/api and app/.well-known, found on disk when
// the test runs: no proxy runs on them (proxy.ts), so each must protect itself.
// A protected one (withSession) must answer 401 without a credential and with
// forged ones; any other must be on PUBLIC below, with the reason; every
// state-changing one must refuse cross-site requests. A new route.ts that is
// neither fails here.
import "./support/test-env";
import "./support/react-server-layer";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { test } from "node:test";
import { SignJWT, generateKeyPair } from "jose";
import { routeAccess, withSession } from "../lib/auth/route";
import { db } from "../lib/platform/db";
import { env } from "../lib/platform/env";
import { isSameOriginRequest } from "../lib/security/request";
import { issueTokenPair } from "../lib/strategies/api";
import { databaseStrategy } from "../lib/strategies/database";
import { jwtStrategy } from "../lib/strategies/jwt";
import { API_AUDIENCE, BROWSER_AUDIENCE } from "../lib/tokens/jwt";
import { keyRing } from "../lib/tokens/keys";
import { createTokenSession } from "../lib/sessions/store";
import { signBrowserJwt } from "../lib/tokens/jwt";
import { authenticationAtSignIn } from "../lib/auth/browser-session";

const ROOT = join(import.meta.dirname, "..");
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const ORIGIN = "http://app.test";

/**
 * Handlers anyone may call, and why. Every entry must exist (a stale one
 * fails too). A state-changing one must also be wrapped in publicRoute (the
 * cross-site rule), which the test checks by sending it a cross-site request.
 */
const PUBLIC: Record<string, string> = {
  "GET /api/ping": "the bench's bare route: a constant answer",
  "GET /api/health": "liveness probe",
  "GET /.well-known/jwks.json": "public verification keys",
  "POST /api/token": "password grant; its session-exchange branch is checked below like a protected route",
  "POST /api/token/refresh": "the refresh token in the body is the credential",
  "POST /api/token/revoke": "RFC 7009: anyone holding a token may revoke it",
  "POST /api/oidc/backchannel-logout":
    "OpenID Connect Back-Channel Logout: the provider calls it server to server; the signed logout token in the body is the credential",
  "GET /api/auth/[...nextauth]": "Auth.js: CSRF token, providers, sign-in page; /session answers from the cookie",
  "POST /api/auth/[...nextauth]": "Auth.js: the credentials callback (password + Auth.js CSRF token), sign-out",
  "POST /api/compare/run":
    "comparison lab: runs on throwaway accounts of its own, never the caller's session; same-origin only, rate-limited per address",
  "POST /api/compare/csrf-demo/session": "comparison lab: a demo cookie and demo Bearer token, never the caller's session; same-origin only",
  "POST /api/compare/csrf-demo/transfer":
    "comparison lab: the CSRF demo's made-up transfer, authorized only by the demo credentials; the cross-site rule of publicRoute, its refusal worded",
  "GET /api/compare/experiments": "comparison lab: the list of experiments (ids, titles, claims) the public page shows too",
  "GET /api/dev/mailbox": "development mail catcher: 404 unless the in-process catcher is in use and the client is on this machine",
};

type Handler = (request: Request) => Promise<Response> | Response;

function routeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return routeFiles(path);
    return /^route\.(ts|tsx|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** "/api/token/refresh" for app/api/token/refresh/route.ts (route groups dropped). */
function routePath(file: string): string {
  const segments = relative(join(ROOT, "app"), file).split(sep).slice(0, -1);
  return "/" + segments.filter((segment) => !/^\(.*\)$/.test(segment)).join("/");
}

interface Route {
  key: string;
  path: string;
  method: (typeof METHODS)[number];
  handler: Handler;
  /** The module's `dynamic` export (route segment config). */
  dynamic: unknown;
}

async function discover(): Promise<Route[]> {
  const files = [join(ROOT, "app", "api"), join(ROOT, "app", ".well-known")].flatMap(routeFiles);
  const routes: Route[] = [];
  for (const file of files.sort()) {
    const mod = (await import(file)) as Record<string, unknown>;
    const path = routePath(file);
    for (const method of METHODS) {
      const handler = mod[method];
      if (typeof handler === "function") routes.push({ key: `${method} ${path}`, path, method, handler: handler as Handler, dynamic: mod.dynamic });
    }
  }
  return routes;
}

/** What is wrong with a route's protection, as far as its wrapper and the allowlist tell; [] when nothing. */
export function classificationProblems(route: Pick<Route, "key" | "method" | "handler" | "dynamic">, publicRoutes: Record<string, string>): string[] {
  const access = routeAccess(route.handler);
  if (access?.kind === "session") {
    const problems = route.key in publicRoutes ? [`${route.key} is protected but listed as public`] : [];
    // A GET handler Next.js could prerender at build time would serve one user's answer to everyone.
    if (route.method === "GET" && route.dynamic !== "force-dynamic") problems.push(`${route.key} is protected but its module does not export dynamic = "force-dynamic"`);
    return problems;
  }
  const problems: string[] = [];
  if (!(route.key in publicRoutes)) problems.push(`${route.key} is neither wrapped in withSession nor on the public allowlist`);
  if (STATE_CHANGING.has(route.method) && access?.kind !== "public") problems.push(`${route.key} changes state without publicRoute (the cross-site rule)`);
  return problems;
}

function request(route: Pick<Route, "path" | "method">, headers: Record<string, string> = {}, body?: string): Request {
  return new Request(`${ORIGIN}${route.path}`, {
    method: route.method,
    headers: { host: "app.test", ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: route.method === "GET" || route.method === "HEAD" ? undefined : body,
  });
}

async function expectUnauthorized(response: Response, label: string): Promise<void> {
  assert.equal(response.status, 401, label);
  assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer /, `${label}: Bearer challenge`);
  assert.deepEqual(await response.json(), { error: "unauthorized" }, label);
}

const context = { userAgent: "routes-test", ip: "127.0.0.1" };
const sameSite = { origin: ORIGIN, "sec-fetch-site": "same-origin" };

/** Credentials that must not work: foreign signatures, unknown sessions, garbage. */
async function forgeries(): Promise<[string, Record<string, string>][]> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const signing = (await keyRing()).signingKey();
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: env.JWT_ISSUER, sub: "user-x", sid: "session-x", iat: now, exp: now + 600 };
  const foreignJwt = await new SignJWT({ ...claims, aud: BROWSER_AUDIENCE }).setProtectedHeader({ alg: "EdDSA", kid: signing.kid, typ: "JWT" }).sign(privateKey);
  // Signed with the server's real key, for a session that does not exist.
  const orphanJwt = await new SignJWT({ ...claims, aud: BROWSER_AUDIENCE }).setProtectedHeader({ alg: "EdDSA", kid: signing.kid, typ: "JWT" }).sign(signing.privateKey);
  const access = { ...claims, aud: API_AUDIENCE, jti: "j", client_id: "c", email: "x@example.com", name: null };
  const foreignAccess = await new SignJWT(access).setProtectedHeader({ alg: "EdDSA", kid: signing.kid, typ: "at+jwt" }).sign(privateKey);
  const orphanAccess = await new SignJWT(access).setProtectedHeader({ alg: "EdDSA", kid: signing.kid, typ: "at+jwt" }).sign(signing.privateKey);
  const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
  return [
    ["JWT cookie signed by a foreign key", { cookie: `sot.jwt=${foreignJwt}` }],
    ["JWT cookie for an unknown session", { cookie: `sot.jwt=${orphanJwt}` }],
    ["unsigned JWT cookie", { cookie: `sot.jwt=${unsigned}` }],
    ["unknown database session cookie", { cookie: `sot.session=${Buffer.alloc(32, 7).toString("base64url")}` }],
    ["garbage database cookie", { cookie: "sot.session=not-a-token" }],
    ["Bearer signed by a foreign key", { authorization: `Bearer ${foreignAccess}` }],
    ["Bearer for an unknown token family", { authorization: `Bearer ${orphanAccess}` }],
    ["a browser JWT presented as a Bearer token", { authorization: `Bearer ${orphanJwt}` }],
    ["malformed Authorization", { authorization: "Basic dXNlcjpwYXNz" }],
    // A bad Authorization header is never rescued by a cookie.
    ["foreign Bearer next to a valid-looking cookie", { authorization: `Bearer ${foreignAccess}`, cookie: `sot.jwt=${orphanJwt}` }],
  ];
}

async function genuineCredentials() {
  const user = await db().user.create({ data: { email: `routes-${crypto.randomUUID()}@example.com`, name: "Routes" } });
  // As a password sign-in issues them: with the authentication it records (the token exchange is a step-up action).
  const signedIn = { method: "password" } as const;
  const jwt = await jwtStrategy.issue(user, context, signedIn, authenticationAtSignIn(signedIn, new Date()));
  const database = await databaseStrategy.issue(user, context, signedIn, authenticationAtSignIn(signedIn, new Date()));
  const pair = await issueTokenPair(user, context);
  return {
    cookies: [
      ["JWT cookie", { cookie: `sot.jwt=${jwt.value}` }],
      ["database cookie", { cookie: `sot.session=${database.value}` }],
    ] as [string, Record<string, string>][],
    bearer: { authorization: `Bearer ${pair.access_token}` },
  };
}

test("every route handler is protected or on the public allowlist, and the allowlist is current", async () => {
  const routes = await discover();
  assert.ok(routes.some((route) => route.key === "GET /api/me"), "the enumeration finds the routes");
  const problems = routes.flatMap((route) => classificationProblems(route, PUBLIC));
  assert.deepEqual(problems, []);
  const stale = Object.keys(PUBLIC).filter((key) => !routes.some((route) => route.key === key));
  assert.deepEqual(stale, [], "allowlist entries without a route");
});

test("the check trips on a new route that nobody wrapped (control)", () => {
  const bare = { key: "GET /api/new", method: "GET" as const, handler: async () => Response.json({ secret: true }), dynamic: "force-dynamic" };
  assert.deepEqual(classificationProblems(bare, PUBLIC), ["GET /api/new is neither wrapped in withSession nor on the public allowlist"]);
  const cacheable = { key: "GET /api/new", method: "GET" as const, handler: withSession(async () => Response.json({})), dynamic: undefined };
  assert.deepEqual(classificationProblems(cacheable, PUBLIC), ['GET /api/new is protected but its module does not export dynamic = "force-dynamic"']);
  const post = { key: "POST /api/health", method: "POST" as const, handler: async () => new Response(null), dynamic: undefined };
  assert.deepEqual(classificationProblems(post, { "POST /api/health": "x" }), ["POST /api/health changes state without publicRoute (the cross-site rule)"]);
});

test("every protected route answers 401 without a credential and with forged ones, and works with genuine ones", async () => {
  const routes = (await discover()).filter((route) => routeAccess(route.handler)?.kind === "session");
  assert.ok(routes.length > 0);
  const forged = await forgeries();
  const genuine = await genuineCredentials();
  for (const route of routes) {
    const headers = STATE_CHANGING.has(route.method) ? sameSite : {};
    await expectUnauthorized(await route.handler(request(route, headers)), `${route.key} without a credential`);
    for (const [label, credential] of forged) {
      await expectUnauthorized(await route.handler(request(route, { ...headers, ...credential })), `${route.key} with ${label}`);
    }
    // Control: the same route with a genuine credential is not refused, so the 401s above are about the credentials.
    for (const [label, credential] of [...genuine.cookies, ["Bearer access token", genuine.bearer] as [string, Record<string, string>]]) {
      const response = await route.handler(request(route, { ...headers, ...credential }));
      assert.ok(![401, 403].includes(response.status), `${route.key} with a genuine ${label}: ${response.status}`);
    }
  }
});

// ASVS 5.0 3.5.1 / 3.5.3: a cookie-authenticated state change must come from this origin.
test("every state-changing route refuses cross-site requests; those acting with the session cookie also cookie requests that do not say where they come from", async () => {
  const routes = (await discover()).filter((route) => STATE_CHANGING.has(route.method));
  assert.ok(routes.length > 0);
  const genuine = await genuineCredentials();
  const crossSite: Record<string, string>[] = [
    { origin: "https://evil.example" },
    { origin: "null" },
    { "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "same-site", origin: "http://sub.app.test" },
  ];
  for (const route of routes) {
    for (const headers of crossSite) {
      const response = await route.handler(request(route, headers, "{}"));
      assert.equal(response.status, 403, `${route.key} with ${JSON.stringify(headers)}`);
      assert.deepEqual(await response.json(), { error: "forbidden" });
    }
    // Protected routes, sign-in and sign-out act with the cookie; the password grant and refresh do not (the exchange: next test).
    if (!routeAccess(route.handler)?.sessionCookie) continue;
    for (const [label, cookie] of genuine.cookies) {
      const response = await route.handler(request(route, cookie, "{}"));
      assert.equal(response.status, 403, `${route.key} with a ${label} and neither Origin nor Sec-Fetch-Site`);
    }
  }
  const cookieRoutes = routes.filter((route) => routeAccess(route.handler)?.sessionCookie).map((route) => route.key);
  assert.ok(cookieRoutes.includes("POST /api/auth/[...nextauth]"), "sign-in and sign-out are held to the cookie rule");
});

test("POST /api/token's session exchange: browser cookie only, same origin only", async () => {
  const route = (await discover()).find((candidate) => candidate.key === "POST /api/token")!;
  const genuine = await genuineCredentials();
  await expectUnauthorized(await route.handler(request(route, sameSite)), "no credential");
  for (const [label, credential] of await forgeries()) {
    const response = await route.handler(request(route, { ...sameSite, ...credential }));
    assert.equal(response.status, 401, label);
  }
  // A Bearer token is not a browser session: it cannot start a new token family.
  assert.equal((await route.handler(request(route, { ...sameSite, ...genuine.bearer }))).status, 401, "Bearer");
  for (const [label, cookie] of genuine.cookies) {
    const response = await route.handler(request(route, { ...sameSite, ...cookie }));
    assert.equal(response.status, 200, label);
    assert.equal(typeof ((await response.json()) as { access_token?: unknown }).access_token, "string");
    assert.equal((await route.handler(request(route, cookie))).status, 403, `${label} without Origin`);
  }
});

test("a state-changing API client without cookies still passes the cross-site rule; one with a session cookie does not", () => {
  const post = (headers: Record<string, string>) => new Request(`${ORIGIN}/api/token`, { method: "POST", headers: { host: "app.test", ...headers } });
  assert.equal(isSameOriginRequest(post({}), false), true, "no cookie: an API client");
  assert.equal(isSameOriginRequest(post({}), true), false, "session cookie, no Origin, no Sec-Fetch-Site");
  assert.equal(isSameOriginRequest(post(sameSite), true), true);
  assert.equal(isSameOriginRequest(post({ "sec-fetch-site": "same-origin" }), true), true);
  assert.equal(isSameOriginRequest(post({ origin: ORIGIN }), true), true);
  assert.equal(isSameOriginRequest(post({ origin: "https://evil.example" }), false), false);
});

test("a protected route renews a browser JWT past half its life (sliding), and only that", async () => {
  const route = (await discover()).find((candidate) => candidate.key === "GET /api/me")!;
  const user = await db().user.create({ data: { email: `renew-${crypto.randomUUID()}@example.com`, name: "Renew" } });
  const now = Date.now();
  const started = new Date(now - env.JWT_TTL_SECONDS * 1000 * 0.75);
  const session = await createTokenSession(user.id, "jwt", context, new Date(now + env.SESSION_TTL_SECONDS * 1000), started);
  const old = await signBrowserJwt(user, session.id, new Date(started.getTime() + env.JWT_TTL_SECONDS * 1000), started);
  const response = await route.handler(request(route, { cookie: `sot.jwt=${old.token}` }));
  assert.equal(response.status, 200);
  const setCookie = response.headers.get("set-cookie") ?? "";
  assert.match(setCookie, /^sot\.jwt=[\w-]+\.[\w-]+\.[\w-]+;/);
  assert.match(setCookie, /HttpOnly/i);
  assert.match(setCookie, /SameSite=lax/i);
  const renewed = setCookie.slice("sot.jwt=".length, setCookie.indexOf(";"));
  assert.notEqual(renewed, old.token);
  assert.equal((await route.handler(request(route, { cookie: `sot.jwt=${renewed}` }))).headers.get("set-cookie"), null, "a fresh token is not renewed again");
  // A Bearer token is never answered with a cookie.
  const pair = await issueTokenPair(user, context);
  assert.equal((await route.handler(request(route, { authorization: `Bearer ${pair.access_token}` }))).headers.get("set-cookie"), null);
});
