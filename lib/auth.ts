import "server-only";
import { AsyncLocalStorage } from "node:async_hooks";
import { cache } from "react";
import { cookies, headers } from "next/headers";
import NextAuth, { AuthError, CredentialsSignin, type NextAuthConfig } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { z } from "zod";
import { audit } from "./audit";
import { keyRing } from "./keys";
import { failClosed } from "./http";
import { log } from "./log";
import { beginPasswordAttempt, isBlocked, tooManyRequests, type Blocked, type PasswordAttempt } from "./rate-limit";
import { clientContext, isHttps, isSameOriginRequest, safeCallbackPath, type ClientContext } from "./security";
import { VERIFIED_TICKET_HEADER, presentCredentials, redeemTicket, resolveRequestSession, sessionCookieOptions } from "./session";
import { purgeExpiredSessionsNowAndThen } from "./session-store";
import { cookieNameFor, strategyByName, strategyNames, type RevocationResult, type VerifiedSession } from "./strategies";
import { CredentialsSchema, EmailSchema, authenticateUser, type SignInAttemptInfo } from "./users";

declare module "next-auth" {
  interface User {
    role?: string;
    /** The session strategy picked on the sign-in form. */
    strategy?: string;
  }
}

/**
 * Sign-in goes through Auth.js (credentials provider: input parsing, password
 * check, CSRF on its HTTP endpoints, callback URLs). What it would normally do
 * next — put its own encrypted JWE in its own cookie — is replaced: at the end
 * of a successful sign-in the `jwt` callback hands the user to the chosen
 * strategy, which sets its own cookie, and returns null so Auth.js sets none.
 *
 * That is also why a database session works with credentials here: Auth.js only
 * allows credentials with its "jwt" session mode, and that mode's job is reduced
 * to "sign-in succeeded"; sessions are ours. Everything after sign-in (auth(),
 * sign-out) never calls into Auth.js, which keeps the per-request check cheap.
 */

const CredentialsInput = CredentialsSchema.extend({ strategy: z.enum(strategyNames) });

/**
 * Every way into `authorize` (the sign-in form's action, the HTTP credentials
 * callback, sign-in after registration) first passes the brute-force limits and
 * then runs Auth.js inside this store, which carries the counted attempt (given
 * back on success) and the client context for the audit log.
 */
interface GuardedAttempt {
  attempt: PasswordAttempt;
  via: SignInAttemptInfo["via"];
  context: ClientContext;
}
const guardedAttempt = new AsyncLocalStorage<GuardedAttempt>();

async function authorize(raw: Partial<Record<string, unknown>>) {
  const guarded = guardedAttempt.getStore();
  if (!guarded) {
    // A path that skipped the limits: refuse rather than allow unlimited guessing.
    log.error("signin.unguarded");
    return null;
  }
  const input = CredentialsInput.safeParse(raw);
  if (!input.success) return null;
  const user = await authenticateUser(input.data.email, input.data.password, { via: guarded.via, context: guarded.context });
  if (!user) return null;
  await guarded.attempt.succeeded();
  return { id: user.id, email: user.email, name: user.name, role: user.role, strategy: input.data.strategy };
}

/** Runs inside the sign-in request: replaces any session this browser had with a new one. */
async function startBrowserSession(user: { id: string; email: string; name: string | null; role: string }, strategyName: string) {
  const strategy = strategyByName(strategyName);
  if (!strategy) throw new AuthError("unknown strategy");
  const [jar, requestHeaders] = await Promise.all([cookies(), headers()]);
  const https = isHttps(requestHeaders);
  // A sign-in always gets a fresh credential; whatever the browser held before is revoked.
  await endBrowserSessions();
  const issued = await strategy.issue(user, clientContext(requestHeaders));
  jar.set(cookieNameFor(strategy, https), issued.value, sessionCookieOptions(https, issued.expires));
  purgeExpiredSessionsNowAndThen();
  log.info("signin.succeeded", { userId: user.id, strategy: strategy.name });
}

const authConfig = async (): Promise<NextAuthConfig> => ({
  secret: (await keyRing()).authSecret,
  trustHost: true,
  basePath: "/api/auth",
  session: { strategy: "jwt" },
  pages: { signIn: "/login", error: "/login" },
  providers: [
    Credentials({
      credentials: { email: { label: "Email" }, password: { label: "Password", type: "password" }, strategy: {} },
      authorize,
    }),
  ],
  callbacks: {
    // Where the credentials endpoint sends the browser: a path on this origin,
    // relative, so it resolves against whatever host the client used.
    redirect({ url, baseUrl }) {
      return safeCallbackPath(url.startsWith(baseUrl) ? url.slice(baseUrl.length) : url);
    },
    async jwt({ user, trigger }) {
      if (trigger === "signIn" && user?.id && user.email && user.strategy) {
        await startBrowserSession(
          { id: user.id, email: user.email, name: user.name ?? null, role: user.role ?? "user" },
          user.strategy,
        );
      }
      // No Auth.js session cookie, ever: the strategy cookie is the session.
      return null;
    },
  },
  logger: {
    error(error) {
      if (error instanceof CredentialsSignin) return;
      // Bad client input (a missing CSRF token, a malformed request) is the client's problem, not ours.
      const clientError = error instanceof AuthError && ["MissingCSRF", "InvalidCheck", "UnknownAction"].includes(error.type);
      (clientError ? log.warn : log.error)("authjs.error", { type: error instanceof AuthError ? error.type : error.name, message: error.message });
    },
    warn(code) {
      log.warn("authjs.warning", { code });
    },
    debug() {},
  },
});

const nextAuth = NextAuth(authConfig);

/** The current request's session, or null. Verified once per request, however many callers ask. */
export const auth = cache(async (): Promise<VerifiedSession | null> => {
  const [jar, requestHeaders] = await Promise.all([cookies(), headers()]);
  const https = isHttps(requestHeaders);
  const authorization = requestHeaders.get("authorization");
  return (
    redeemTicket(requestHeaders.get(VERIFIED_TICKET_HEADER), jar, authorization, https) ??
    resolveRequestSession(jar, authorization, https)
  );
});

export type SignInResult = { ok: true } | { ok: false; blocked?: Blocked };

/**
 * Checks the password through Auth.js and, on success, starts a session of the
 * chosen strategy. Over a brute-force limit, no password is checked and the
 * result says how long to wait. Right after registration (`afterRegistration`),
 * which has its own limit, the sign-in is not counted again.
 */
export async function signIn(
  input: { email: string; password: string; strategy: string },
  options: { afterRegistration?: boolean } = {},
): Promise<SignInResult> {
  const context = clientContext(await headers());
  let attempt: PasswordAttempt = { succeeded: async () => {} };
  if (!options.afterRegistration) {
    const email = EmailSchema.safeParse(input.email);
    const begun = await beginPasswordAttempt("signin", email.success ? email.data : null, context);
    if (isBlocked(begun)) return { ok: false, blocked: begun };
    attempt = begun;
  }
  const via = options.afterRegistration ? "register" : "form";
  try {
    await guardedAttempt.run({ attempt, via, context }, () => nextAuth.signIn("credentials", { ...input, redirect: false }));
    return { ok: true };
  } catch (error) {
    if (error instanceof AuthError) return { ok: false };
    throw error;
  }
}

/** Revokes every session credential this browser holds and deletes the cookies. */
export async function endBrowserSessions(): Promise<RevocationResult[]> {
  const [jar, requestHeaders] = await Promise.all([cookies(), headers()]);
  const results: RevocationResult[] = [];
  for (const { strategy, name, value } of presentCredentials(jar, isHttps(requestHeaders))) {
    results.push(await strategy.revoke(value));
    jar.delete(name);
  }
  return results;
}

export async function signOut(): Promise<RevocationResult[]> {
  const session = await auth();
  const results = await endBrowserSessions();
  if (session) {
    log.info("signout", { userId: session.user.id, strategy: session.strategy });
    await audit("signout", { userId: session.user.id, context: clientContext(await headers()), detail: { strategy: session.strategy } });
  }
  return results;
}

/**
 * Auth.js's HTTP endpoints (CSRF token, credentials callback for non-browser
 * clients, providers). The two that would talk about Auth.js's own session
 * cookie are answered from ours instead.
 */
export const handlers = {
  GET: async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname === "/api/auth/session") {
      const session = await auth();
      return Response.json(session && { user: session.user, strategy: session.strategy, expires: session.expires.toISOString() }, {
        headers: { "Cache-Control": "no-store" },
      });
    }
    return nextAuth.handlers.GET(asNextRequest(request));
  },
  POST: async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname === "/api/auth/signout") {
      if (!isSameOriginRequest(request)) return Response.json({ error: "forbidden" }, { status: 403 });
      const results = await signOut();
      return Response.json({ signedOut: true, results }, { headers: { "Cache-Control": "no-store" } });
    }
    if (isCredentialsCallback(request)) return failClosed(credentialsCallback)(request);
    return nextAuth.handlers.POST(asNextRequest(request));
  },
};

/**
 * POST /api/auth/callback/credentials: the brute-force limits apply before
 * Auth.js runs. The path is read the way Auth.js reads it (segments after the
 * base path, empty ones ignored), so no spelling of it gets past this check.
 */
function isCredentialsCallback(request: Request): boolean {
  const { pathname } = new URL(request.url);
  if (!pathname.startsWith("/api/auth/")) return false;
  const segments = pathname.slice("/api/auth".length).split("/").filter(Boolean);
  return segments.length === 2 && segments[0] === "callback" && segments[1] === "credentials";
}

const MAX_FORM_BYTES = 16 * 1024;

async function credentialsCallback(request: Request): Promise<Response> {
  const context = clientContext(request.headers);
  const fields = await submittedFields(request.clone());
  // Too large to read here means too large to sign in with: Auth.js never sees it.
  if (fields === null) return Response.json({ error: "invalid_request" }, { status: 413, headers: { "Cache-Control": "no-store" } });
  const email = EmailSchema.safeParse(fields.email);
  const begun = await beginPasswordAttempt("signin", email.success ? email.data : null, context);
  if (isBlocked(begun)) return tooManyRequests(begun);
  return guardedAttempt.run({ attempt: begun, via: "http", context }, () => nextAuth.handlers.POST(asNextRequest(request)));
}

/** The body fields exactly as Auth.js will see them (JSON or form; for a repeated field, the last value). */
async function submittedFields(request: Request): Promise<Record<string, unknown> | null> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (!Number.isFinite(declared) || declared > MAX_FORM_BYTES) return null;
  const type = request.headers.get("content-type") ?? "";
  const text = await request.text().catch(() => "");
  if (Buffer.byteLength(text) > MAX_FORM_BYTES) return null;
  try {
    if (type.includes("application/json")) {
      const value: unknown = JSON.parse(text);
      return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
    }
    if (type.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text));
  } catch {
    // unparseable: Auth.js will refuse it too; the attempt still counts against the address
  }
  return {};
}

type NextAuthRequest = Parameters<typeof nextAuth.handlers.GET>[0];
function asNextRequest(request: Request): NextAuthRequest {
  return request as NextAuthRequest;
}
