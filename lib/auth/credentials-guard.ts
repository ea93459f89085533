import "server-only";
import { AsyncLocalStorage } from "node:async_hooks";
import { readSubmittedFields } from "../http/body";
import { errorResponse } from "../http/responses";
import { log } from "../platform/log";
import { beginPasswordAttempt, isBlocked, tooManyRequests, type PasswordAttempt } from "../security/rate-limit";
import { clientContext, type ClientContext } from "../security/request";
import { EmailSchema } from "../users/policy";
import type { SignInAttemptInfo } from "../users/users";

/**
 * The brute-force guard around Auth.js's credentials check. Every way into
 * `authorize` (the sign-in form's action, the HTTP credentials callback,
 * sign-in after registration) first passes the limits and then runs Auth.js
 * inside this store, which carries the counted attempt (given back on
 * success) and the client context for the audit log. A path that skipped the
 * limits finds no store, and `authorize` refuses it.
 */
export interface GuardedAttempt {
  attempt: PasswordAttempt;
  via: SignInAttemptInfo["via"];
  context: ClientContext;
  /** Set by `authorize` when the password was right: the account's email, for what follows a sign-in (a pending provider link). */
  signedInEmail?: string;
}

const guardedAttempt = new AsyncLocalStorage<GuardedAttempt>();

export function runGuarded<T>(guard: GuardedAttempt, work: () => T): T {
  return guardedAttempt.run(guard, work);
}

export function currentAttempt(): GuardedAttempt | undefined {
  const guard = guardedAttempt.getStore();
  if (!guard) log.error("signin.unguarded");
  return guard;
}

/**
 * POST /api/auth/callback/credentials: the path read the way Auth.js reads it
 * (segments after the base path, empty ones ignored), so no spelling of it
 * gets past the limits.
 */
export function isCredentialsCallback(request: Request): boolean {
  const { pathname } = new URL(request.url);
  if (!pathname.startsWith("/api/auth/")) return false;
  const segments = pathname.slice("/api/auth".length).split("/").filter(Boolean);
  return segments.length === 2 && segments[0] === "callback" && segments[1] === "credentials";
}

/** Applies the limits to an HTTP credentials callback, then lets Auth.js handle it inside the guard (given to `handle` to read the outcome). */
export async function guardCredentialsCallback(
  request: Request,
  handle: (request: Request, guard: GuardedAttempt) => Promise<Response>,
): Promise<Response> {
  const context = clientContext(request.headers);
  const fields = await readSubmittedFields(request.clone());
  // Too large to read here means too large to sign in with: Auth.js never sees it.
  if (fields === null) return errorResponse(413, "invalid_request");
  const email = EmailSchema.safeParse(fields.email);
  const begun = await beginPasswordAttempt("signin", email.success ? email.data : null, context);
  if (isBlocked(begun)) return tooManyRequests(begun);
  const guard: GuardedAttempt = { attempt: begun, via: "http", context };
  return runGuarded(guard, () => handle(request, guard));
}
