import "server-only";
import { cookies, headers } from "next/headers";
import { env } from "../platform/env";
import { log } from "../platform/log";
import { audit } from "../security/audit";
import { beginPasswordAttempt, isBlocked, type Blocked } from "../security/rate-limit";
import { safeRedirectPath } from "../security/redirect";
import { clientContext, isHttps } from "../security/request";
import type { Authentication } from "../sessions/store";
import { cookieNameFor, strategyByKind, type Session } from "../strategies";
import { identitiesOf } from "../users/identities";
import { authenticateUser, findUserByEmail } from "../users/users";
import { sessionCookieOptions } from "./cookies";
import { providerForIssuer, reauthenticationParams, type ProviderButton } from "./providers";
import type { StepUpRequired } from "./step-up-types";

/**
 * Step-up authentication: the one check every sensitive action makes (password
 * change or first password, connecting or disconnecting a provider, signing
 * out everywhere else, creating API tokens from a browser session, every
 * admin action). The user must have proved who they are within
 * STEP_UP_WINDOW_SECONDS; otherwise the action is refused with a typed state
 * the form turns into "Confirm it's you" (the confirm page: the password, or
 * a fresh sign-in at a linked provider, ./provider-signin.ts; then back).
 *
 * The time comes from where it cannot be forged: a database session's row
 * (read again, so a confirmation a moment ago or on another instance counts),
 * a browser JWT's signed `auth_time` claim (an edited claim fails the
 * signature, so the session is not even verified). A form posted again after
 * the window is checked again, at that moment, and refused.
 */

/** Every action that needs a recent authentication, by name (the server log names the one that asked for a confirmation). */
export const SENSITIVE_ACTIONS = {
  change_password: "change your password",
  sign_out_others: "sign out your other sessions",
  create_api_tokens: "create API tokens",
  admin: "use the admin tools",
  provider_link: "connect or disconnect a sign-in provider",
} as const;
export type SensitiveAction = keyof typeof SENSITIVE_ACTIONS;

export type { StepUpRequired } from "./step-up-types";

export type StepUpResult = { ok: true } | { ok: false; stepUp: StepUpRequired };

export const CONFIRM_PATH = "/dashboard/confirm";

/** The confirm page for a return path (made safe: same-origin path or the dashboard). */
export function confirmPathFor(returnTo: string): string {
  return `${CONFIRM_PATH}?returnTo=${encodeURIComponent(safeRedirectPath(returnTo))}`;
}

export function stepUpWindowSeconds(): number {
  return env.STEP_UP_WINDOW_SECONDS;
}

/**
 * True if `authentication` happened within the last `windowSeconds` (and not
 * in the future beyond a small clock tolerance). Unknown → false: a session
 * from before auth times were recorded must confirm.
 */
export function isRecentAuthentication(authentication: Authentication | null | undefined, now: Date, windowSeconds: number): boolean {
  if (!authentication) return false;
  const age = now.getTime() - authentication.time.getTime();
  return age <= windowSeconds * 1000 && age >= -CLOCK_TOLERANCE_MS;
}
const CLOCK_TOLERANCE_MS = 5000;

/** The authentication the check trusts for this session (see the module comment). */
export async function currentAuthentication(session: Session): Promise<Authentication | null> {
  const strategy = strategyByKind(session.strategy);
  if (strategy?.currentAuthentication) return strategy.currentAuthentication(session);
  return session.authentication ?? null;
}

/**
 * The check. `returnTo` is the page the action's form is on: where the user
 * comes back to after confirming.
 */
export async function requireRecentAuthentication(session: Session, returnTo: string, action: SensitiveAction, now = new Date()): Promise<StepUpResult> {
  const authentication = await currentAuthentication(session);
  if (isRecentAuthentication(authentication, now, stepUpWindowSeconds())) return { ok: true };
  log.info("step_up.required", { userId: session.user.id, action });
  return { ok: false, stepUp: { confirmPath: confirmPathFor(returnTo) } };
}

export type ConfirmOutcome =
  | { ok: true; returnTo: string }
  | { ok: false; reason: "wrong_password" | "no_password" | "ended" }
  | { ok: false; reason: "blocked"; blocked: Blocked };

/**
 * "Confirm it's you" with the password: limited like sign-in (per address and
 * per account), checked with argon2id through the users code, and only for the
 * signed-in user's own account. On success the session's authentication time
 * moves to now (recordConfirmation).
 */
export async function confirmWithPassword(session: Session, password: string, returnTo: unknown): Promise<ConfirmOutcome> {
  const context = clientContext(await headers());
  const attempt = await beginPasswordAttempt("signin", session.user.email, context);
  if (isBlocked(attempt)) return { ok: false, reason: "blocked", blocked: attempt };
  const record = await findUserByEmail(session.user.email);
  if (record && record.passwordHash === null) return { ok: false, reason: "no_password" };
  const user = await authenticateUser(session.user.email, password, { via: "confirm", context });
  if (!user || user.id !== session.user.id) return { ok: false, reason: "wrong_password" };
  await attempt.succeeded();
  if (!(await recordConfirmation(session, { time: new Date(), methods: ["pwd"] }, { method: "password" }))) return { ok: false, reason: "ended" };
  return { ok: true, returnTo: safeRedirectPath(returnTo) };
}

/**
 * A confirmation that succeeded (the password, or a fresh sign-in at a linked
 * provider): the session's authentication moves to `authentication` (the row;
 * a browser JWT also gets a new cookie carrying the new `auth_time`), and the
 * audit log records it. False when the session ended meanwhile. The session
 * stays the same session: nothing new is started, nothing replaced.
 */
export async function recordConfirmation(
  session: Session,
  authentication: Authentication,
  detail: { method: "password" } | { method: "oidc"; issuer: string },
): Promise<boolean> {
  const [jar, requestHeaders] = await Promise.all([cookies(), headers()]);
  const strategy = strategyByKind(session.strategy);
  const outcome = strategy?.reauthenticate ? await strategy.reauthenticate(session, authentication) : null;
  if (!strategy || !outcome?.recorded) return false;
  if (outcome.credential) {
    const https = isHttps(requestHeaders);
    const name = cookieNameFor(strategy, https);
    if (name) jar.set(name, outcome.credential.value, sessionCookieOptions(https, outcome.credential.expires));
  }
  await audit("session.reauthenticated", {
    userId: session.user.id,
    context: clientContext(requestHeaders),
    detail: { ...detail, sessionId: session.sessionId ?? null, kind: session.strategy },
  });
  return true;
}

/** Whether the account can confirm with a password (a provider-only account cannot). */
export async function canConfirmWithPassword(session: Session): Promise<boolean> {
  return Boolean((await findUserByEmail(session.user.email))?.passwordHash);
}

/** The configured providers the account can confirm through: linked to it, and able to be asked for a fresh sign-in. */
export async function confirmationProviders(userId: string): Promise<ProviderButton[]> {
  const providers = new Map<string, ProviderButton>();
  for (const identity of await identitiesOf(userId)) {
    const configured = providerForIssuer(identity.issuer);
    if (configured && reauthenticationParams(configured.id)) providers.set(configured.id, configured);
  }
  return [...providers.values()];
}
