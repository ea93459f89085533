import "server-only";
import { cache } from "react";
import { cookies, headers } from "next/headers";
import { AuthError } from "next-auth";
import { errorResponse, failClosed, privateJson } from "../http/responses";
import { log } from "../platform/log";
import { audit } from "../security/audit";
import { beginPasswordAttempt, isBlocked, type Blocked } from "../security/rate-limit";
import { clientContext, isSameOriginRequest } from "../security/request";
import { findSessionById, type SessionUser, type SignInOrigin } from "../sessions/store";
import { isBrowserKind, strategies, strategyByKind, type RevocationResult, type Session } from "../strategies";
import { EmailSchema } from "../users/policy";
import { asNextRequest, nextAuth } from "./authjs";
import { endBrowserSessions, startBrowserSession } from "./browser-session";
import { guardCredentialsCallback, isCredentialsCallback, runGuarded, type GuardedAttempt } from "./credentials-guard";
import type { FlowPurpose } from "./provider-flow";
import { completePendingLink } from "./provider-link";
import { boundPurpose, handleProviderCallback, providerCallbackId, SECURITY_PATH, startProviderFlow, type StartResult } from "./provider-signin";
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

export type SignInResult = { ok: true; linkedProvider: string | null } | { ok: false; blocked?: Blocked };

/**
 * Checks the password through Auth.js and, on success, starts a session of the
 * chosen kind, and completes a provider link waiting for this account's
 * password (./provider-link.ts; `linkedProvider` says which). Over a
 * brute-force limit, no password is checked and the result says how long to wait.
 */
export async function signIn(input: { email: string; password: string; strategy: string }): Promise<SignInResult> {
  const context = clientContext(await headers());
  const email = EmailSchema.safeParse(input.email);
  const attempt = await beginPasswordAttempt("signin", email.success ? email.data : null, context);
  if (isBlocked(attempt)) return { ok: false, blocked: attempt };
  const guard: GuardedAttempt = { attempt, via: "form", context };
  try {
    await runGuarded(guard, () => nextAuth.signIn("credentials", { ...input, redirect: false }));
  } catch (error) {
    if (error instanceof AuthError) return { ok: false };
    throw error;
  }
  return { ok: true, linkedProvider: await afterPasswordSignIn(guard) };
}

/**
 * What follows a password sign-in, whichever way it came (the form, the HTTP
 * credentials callback): a provider link waiting for this account's password
 * is completed. The configured provider's id when one was linked.
 */
async function afterPasswordSignIn(guard: GuardedAttempt): Promise<string | null> {
  return guard.signedInEmail === undefined ? null : completePendingLink(guard.signedInEmail);
}

/**
 * Starts a browser session of the chosen kind for a user who has just proved
 * control of their mailbox (a registration link was used): there is no
 * password to check at that point, the one-time link was the proof. False,
 * and no session, when `kind` is not a browser kind.
 */
export async function signInVerifiedUser(user: SessionUser, kind: string): Promise<boolean> {
  const strategy = strategyByKind(kind);
  if (!strategy || !isBrowserKind(kind)) return false;
  await startBrowserSession(user, strategy, { method: "email_link" });
  await audit("signin.succeeded", { userId: user.id, context: clientContext(await headers()), detail: { method: "email_link", via: "register" } });
  return true;
}

/**
 * Starts a provider flow: the provider's authorization URL to send the
 * browser to (the flow's cookies are set), or why not.
 */
function beginProviderFlow(provider: string, purpose: FlowPurpose, callbackUrl: string): Promise<StartResult> {
  return startProviderFlow(provider, purpose, (id, authorizationParams) => nextAuth.signIn(id, { redirect: false, redirectTo: callbackUrl }, authorizationParams));
}

/** A provider sign-in with the session kind chosen on the form. */
export function beginProviderSignIn(input: { provider: string; strategy: string; callbackUrl: string }): Promise<StartResult> {
  return beginProviderFlow(input.provider, { kind: "signin", strategy: input.strategy }, input.callbackUrl);
}

/**
 * Connecting a provider to the signed-in account, or confirming it's you
 * through one already connected: bound to this session, back to `returnTo`.
 */
export async function beginBoundProviderFlow(kind: "link" | "confirm", session: Session, provider: string, returnTo: string): Promise<StartResult> {
  const purpose = boundPurpose(kind, session, returnTo);
  if (!purpose) return { ok: false, error: "unavailable" };
  return beginProviderFlow(provider, purpose, SECURITY_PATH);
}

/** How the current browser session was signed in (read before sign-out revokes it), or null. */
export async function currentSignInOrigin(): Promise<SignInOrigin | null> {
  const session = await auth();
  return session?.sessionId ? ((await findSessionById(session.sessionId))?.origin ?? null) : null;
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
    const provider = providerCallbackId(request);
    if (provider) return handleProviderCallback(request, provider, (checked) => nextAuth.handlers.GET(asNextRequest(checked)), auth);
    return nextAuth.handlers.GET(asNextRequest(request));
  },
  POST: async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname === "/api/auth/signout") {
      if (!isSameOriginRequest(request)) return errorResponse(403, "forbidden");
      const results = await signOut();
      return privateJson({ signedOut: true, results });
    }
    if (isCredentialsCallback(request)) {
      return failClosed((incoming: Request) =>
        guardCredentialsCallback(incoming, async (guarded, guard) => {
          const response = await nextAuth.handlers.POST(asNextRequest(guarded));
          await afterPasswordSignIn(guard);
          return response;
        }),
      )(request);
    }
    return nextAuth.handlers.POST(asNextRequest(request));
  },
};
