import "server-only";
import { cookies, headers } from "next/headers";
import { log } from "../platform/log";
import { audit } from "../security/audit";
import { clientContext, isHttps, type ClientContext } from "../security/request";
import { purgeExpiredSessionsNowAndThen, type Authentication, type SessionUser, type SignInOrigin } from "../sessions/store";
import { cookieNameFor, idleRules, strategies, type RevocationResult, type Strategy } from "../strategies";
import { sessionCookieOptions } from "./cookies";
import { presentedCredentials } from "./request";

/** Why a browser's credentials are being ended, for the audit log. */
export type EndReason = "sign_out" | "replaced_at_sign_in" | "revoked_by_user" | "revoked_by_admin";

/**
 * Revokes every session credential this browser holds, deletes the cookies,
 * and records each session that was ended, with the client's address.
 */
export async function endBrowserSessions(reason: EndReason): Promise<RevocationResult[]> {
  const [jar, requestHeaders] = await Promise.all([cookies(), headers()]);
  const context = clientContext(requestHeaders);
  const results: RevocationResult[] = [];
  for (const { strategy, value } of presentedCredentials(strategies, "browser", { cookies: jar, headers: requestHeaders })) {
    const ended = await strategy.verify(value);
    results.push(await strategy.revoke(value));
    const name = cookieNameFor(strategy, isHttps(requestHeaders));
    if (name) jar.delete(name);
    if (ended) {
      await audit("session.revoked", {
        userId: ended.user.id,
        context,
        detail: { by: "user", sessionId: ended.sessionId ?? null, reason, kind: strategy.kind },
      });
    }
  }
  return results;
}

/**
 * RFC 8176 method references for our own sign-in methods: "pwd" for the
 * password; "otp" for an email link (a one-time secret delivered to the user).
 */
export function authenticationAtSignIn(origin: SignInOrigin, now: Date, provider?: Authentication | null): Authentication {
  if (origin.method === "password") return { time: now, methods: ["pwd"] };
  if (origin.method === "email_link") return { time: now, methods: ["otp"] };
  // A provider's own statement (the ID token's auth_time and amr) when it makes one;
  // without auth_time, the time it vouched for the user: now.
  return provider ?? { time: now, methods: [] };
}

/**
 * Runs inside the sign-in request: replaces any session this browser had with a
 * new one of the chosen kind. `authentication`: when and how the user proved who
 * they are, if the provider said (else derived from the method, at this moment).
 */
export async function startBrowserSession(user: SessionUser, strategy: Strategy, origin: SignInOrigin, authentication?: Authentication | null): Promise<void> {
  const [jar, requestHeaders] = await Promise.all([cookies(), headers()]);
  const https = isHttps(requestHeaders);
  const name = cookieNameFor(strategy, https);
  if (name === null) throw new Error(`${strategy.kind} is not a browser kind`);
  // A sign-in always gets a fresh credential; whatever the browser held before is revoked.
  await endBrowserSessions("replaced_at_sign_in");
  const context: ClientContext = clientContext(requestHeaders);
  const issued = await strategy.issue(user, context, origin, authenticationAtSignIn(origin, new Date(), authentication));
  jar.set(name, issued.value, sessionCookieOptions(https, issued.expires));
  purgeExpiredSessionsNowAndThen(idleRules());
  log.info("signin.succeeded", { userId: user.id, strategy: strategy.kind, method: origin.method });
}
