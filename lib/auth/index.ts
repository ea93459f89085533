import "server-only";
import { cache } from "react";
import { cookies, headers } from "next/headers";
import { AuthError } from "next-auth";
import { errorResponse, failClosed, privateJson } from "../http/responses";
import { log } from "../platform/log";
import { audit } from "../security/audit";
import { beginPasswordAttempt, isBlocked, type Blocked, type PasswordAttempt } from "../security/rate-limit";
import { clientContext, isSameOriginRequest } from "../security/request";
import { strategies, type RevocationResult, type Session } from "../strategies";
import { EmailSchema } from "../users/policy";
import { asNextRequest, nextAuth } from "./authjs";
import { endBrowserSessions } from "./browser-session";
import { guardCredentialsCallback, isCredentialsCallback, runGuarded } from "./credentials-guard";
import { sessionFromRequest } from "./request";

/**
 * The session entry points: `auth()` for pages, layouts and server actions,
 * `signIn` / `signOut` for the forms, and Auth.js's HTTP endpoints.
 * Route handlers use `withSession` (./route.ts); guards are in ./guards.ts.
 */

/**
 * The current browser request's session, or null: cookies only (the one
 * rule, scope "browser"). Verified once per request, however many callers ask.
 */
export const auth = cache(async (): Promise<Session | null> => {
  const [jar, requestHeaders] = await Promise.all([cookies(), headers()]);
  return sessionFromRequest(strategies, "browser", { cookies: jar, headers: requestHeaders });
});

export type SignInResult = { ok: true } | { ok: false; blocked?: Blocked };

/**
 * Checks the password through Auth.js and, on success, starts a session of the
 * chosen kind. Over a brute-force limit, no password is checked and the
 * result says how long to wait. Right after an account is created
 * (`afterRegistration`), which has its own limit, the sign-in is not counted again.
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
    await runGuarded({ attempt, via, context }, () => nextAuth.signIn("credentials", { ...input, redirect: false }));
    return { ok: true };
  } catch (error) {
    if (error instanceof AuthError) return { ok: false };
    throw error;
  }
}

export async function signOut(): Promise<RevocationResult[]> {
  const session = await auth();
  const results = await endBrowserSessions("sign_out");
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
      return privateJson(session && { user: session.user, strategy: session.strategy, expires: session.expires.toISOString() });
    }
    return nextAuth.handlers.GET(asNextRequest(request));
  },
  POST: async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname === "/api/auth/signout") {
      if (!isSameOriginRequest(request)) return errorResponse(403, "forbidden");
      const results = await signOut();
      return privateJson({ signedOut: true, results });
    }
    if (isCredentialsCallback(request)) {
      return failClosed((incoming: Request) => guardCredentialsCallback(incoming, (guarded) => nextAuth.handlers.POST(asNextRequest(guarded))))(request);
    }
    return nextAuth.handlers.POST(asNextRequest(request));
  },
};
