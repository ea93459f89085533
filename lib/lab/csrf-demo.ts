import "server-only";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { RequestCookies } from "next/dist/server/web/spec-extension/cookies";
import { sessionCookieOptions } from "../auth/cookies";
import { bearerToken } from "../auth/request";
import { isSameOriginRequest } from "../security/request";
import { keyRing } from "../tokens/keys";
import { purposeKey } from "../tokens/sealed";
import { CSRF_DEMO_HEADER, formatDemoVerdict, type CsrfAnswer } from "./browser-demos";
import { demoFrameOrigins } from "./demo-origins";

/**
 * The CSRF demo's credentials and its state-changing endpoint
 * (POST /api/compare/csrf-demo/transfer). Never the visitor's session: a demo
 * cookie with exactly the attributes of the real session cookie
 * (sessionCookieOptions: HttpOnly, SameSite=Lax) but its own name and a path
 * that keeps it to the demo endpoint, and a demo Bearer token. Both are
 * random values with an HMAC under a key derived from the server's secret, so
 * every instance accepts them and nothing else does; they authorize nothing
 * but the demo's made-up transfer. The endpoint runs the same origin check as
 * every real route (isSameOriginRequest, via publicRoute) and says in its
 * answer which defence decided.
 */
export const DEMO_COOKIE_NAME = "sot.csrf-demo";
export const DEMO_COOKIE_PATH = "/api/compare/csrf-demo";
export const DEMO_TTL_SECONDS = 10 * 60;

type DemoKind = "cookie" | "bearer";

async function demoKey(): Promise<Buffer> {
  const { authSecret } = await keyRing();
  return purposeKey(authSecret, "session-or-token csrf demo credential");
}

async function demoCredential(kind: DemoKind): Promise<string> {
  const nonce = randomBytes(16).toString("base64url");
  const tag = createHmac("sha256", await demoKey()).update(`${kind}:${nonce}`).digest("base64url");
  // Three dot-separated parts, so the Bearer one also has the shape the credential rule reads.
  return `demo.${nonce}.${tag}`;
}

async function isDemoCredential(kind: DemoKind, value: string | null | undefined): Promise<boolean> {
  const [prefix, nonce, tag, extra] = (value ?? "").split(".");
  if (prefix !== "demo" || !nonce || !tag || extra !== undefined) return false;
  const expected = Buffer.from(createHmac("sha256", await demoKey()).update(`${kind}:${nonce}`).digest("base64url"));
  const given = Buffer.from(tag);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A fresh demo cookie (value and the attributes of the real session cookie) and a demo Bearer token. */
export async function issueDemoCredentials(https: boolean): Promise<{ cookie: { name: string; value: string; options: ReturnType<typeof sessionCookieOptions> & { path: string } }; bearer: string }> {
  const options = { ...sessionCookieOptions(https, new Date(Date.now() + DEMO_TTL_SECONDS * 1000)), path: DEMO_COOKIE_PATH };
  return { cookie: { name: DEMO_COOKIE_NAME, value: await demoCredential("cookie"), options }, bearer: await demoCredential("bearer") };
}

export type Presence = "valid" | "invalid" | "absent";

/** What the demo endpoint saw and decided (its X-Csrf-Demo header). */
export type TransferVerdict = CsrfAnswer;

/** Judges a request to the demo endpoint: both defences, each on its own. */
export async function judgeTransfer(request: Request): Promise<TransferVerdict> {
  const cookieValue = new RequestCookies(request.headers).get(DEMO_COOKIE_NAME)?.value;
  const authorization = request.headers.get("authorization");
  const cookie: Presence = cookieValue === undefined ? "absent" : (await isDemoCredential("cookie", cookieValue)) ? "valid" : "invalid";
  const bearer: Presence = authorization === null ? "absent" : (await isDemoCredential("bearer", bearerToken(authorization))) ? "valid" : "invalid";
  // The same check as every state-changing route; a request carrying the (demo) cookie must say where it comes from.
  const originPassed = isSameOriginRequest(request, cookie !== "absent");
  const credentialed = bearer === "valid" || (authorization === null && cookie === "valid");
  const refusedBy = !originPassed ? "origin-check" : !credentialed ? "credential" : null;
  return { outcome: refusedBy ? "refused" : "accepted", refusedBy, cookie, authorization: bearer, originCheck: originPassed ? "passed" : "refused" };
}

/** The demo's pages on the downstream origins may read the answer (that is how the browser demo reports it). */
function corsHeaders(request: Request): Record<string, string> {
  const origin = request.headers.get("origin");
  const headers: Record<string, string> = { Vary: "Origin", "Cache-Control": "no-store" };
  if (origin !== null && demoFrameOrigins().includes(origin)) {
    headers["Access-Control-Allow-Origin"] = origin;
    headers["Access-Control-Allow-Credentials"] = "true";
    headers["Access-Control-Expose-Headers"] = CSRF_DEMO_HEADER;
  }
  return headers;
}

const ANSWERS = { "origin-check": [403, "forbidden"], credential: [401, "unauthorized"] } as const;

/**
 * The answer: the usual body (403 forbidden, 401 unauthorized, or the
 * transfer), and in the X-Csrf-Demo header what each defence decided.
 */
export async function transferAnswer(request: Request): Promise<Response> {
  const verdict = await judgeTransfer(request);
  const headers = { ...corsHeaders(request), [CSRF_DEMO_HEADER]: formatDemoVerdict(verdict) };
  if (verdict.refusedBy) {
    const [status, error] = ANSWERS[verdict.refusedBy];
    return Response.json({ error }, { status, headers });
  }
  return Response.json({ transfer: "accepted (demo: nothing moved)" }, { headers });
}
