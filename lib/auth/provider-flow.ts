import "server-only";
import { z } from "zod";
import { open, purposeKey, seal } from "../tokens/sealed";

/**
 * The two short-lived cookies of provider sign-in, both sealed (AES-256-GCM,
 * ../tokens/sealed.ts) under a key derived from the server's Auth.js secret
 * for that cookie only, both HttpOnly, SameSite=Lax, host-only, never in a URL:
 *
 * - the flow cookie (`sot.provider-flow`): what a flow to the provider is for,
 *   carried to the provider's callback. A sign-in carries the session kind
 *   picked on the form; connecting a provider ("link") and confirming it's
 *   you through the provider ("confirm") carry the signed-in user and session
 *   they were started from, and the page to return to. It is bound to the
 *   flow: the flow's `state` and the provider are the associated data of the
 *   seal, so a value from another flow (another tab, another provider, a
 *   replay) does not open, nor does one that was edited or has expired. Set
 *   when the flow starts, cleared in the callback whatever the outcome.
 * - the pending-link cookie (`sot.provider-link`): a provider identity whose
 *   verified email an existing account uses, remembered until the owner of
 *   that account signs in with its password (the proof from the account's
 *   side). It names the identity (issuer, subject, email) and the account.
 */

export const FLOW_COOKIE = "sot.provider-flow";
export const PENDING_LINK_COOKIE = "sot.provider-link";
/** Long enough to sign in at the provider (or with the password); a flow left longer starts again. */
export const FLOW_TTL_SECONDS = 10 * 60;

const Strategy = z.string().min(1).max(32);
const Id = z.string().min(1).max(128);

const FlowPurposeSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("signin"), strategy: Strategy }),
  // Bound to the browser session that started it: the callback acts for that session only.
  z.object({ kind: z.enum(["link", "confirm"]), userId: Id, sessionId: Id, returnTo: z.string().min(1).max(2048) }),
]);

/** What a flow to the provider is for. */
export type FlowPurpose = z.infer<typeof FlowPurposeSchema>;

export interface FlowChoice {
  /** The provider the flow went to. */
  provider: string;
  purpose: FlowPurpose;
  /** When the flow started (ms since the epoch): an authentication at the provider before it is not a fresh one. */
  startedAt: number;
}

const PendingLinkSchema = z.object({
  /** The provider's id in this app's configuration (its button, its callback path). */
  provider: z.string().min(1).max(64),
  /** Auth.js's provider type ("oidc", "oauth"), stored with the link. */
  type: z.string().min(1).max(32),
  issuer: z.string().min(1).max(2048),
  subject: z.string().min(1).max(255),
  /** The address the provider verified, which the account uses. */
  email: z.string().min(1).max(320),
  /** The account that address belongs to: only a password sign-in to it completes the link. */
  userId: Id,
});

export type PendingLink = z.infer<typeof PendingLinkSchema>;

interface SealedCookie<T> {
  name: string;
  key: string;
  schema: z.ZodType<T>;
}

const FLOW: SealedCookie<FlowPurpose> = { name: FLOW_COOKIE, key: "session-or-token provider-flow v2", schema: FlowPurposeSchema };
const PENDING_LINK: SealedCookie<PendingLink> = { name: PENDING_LINK_COOKIE, key: "session-or-token provider-link v1", schema: PendingLinkSchema };

const Envelope = z.object({ v: z.unknown(), t: z.number().int(), e: z.number().int() });
const MAX_VALUE_LENGTH = 4096;

/** `binding`: the associated data; the value opens only where the same binding is given. */
function sealCookie<T>(cookie: SealedCookie<T>, value: T, binding: string, secret: string, now: number): string {
  const envelope = { v: value, t: now, e: Math.floor(now / 1000) + FLOW_TTL_SECONDS };
  return seal(JSON.stringify(envelope), `${cookie.name}|${binding}`, purposeKey(secret, cookie.key));
}

function openCookie<T>(cookie: SealedCookie<T>, sealed: string | undefined, binding: string, secret: string, now: number): { value: T; issuedAt: number } | null {
  if (!sealed || sealed.length > MAX_VALUE_LENGTH) return null;
  const opened = open(sealed, `${cookie.name}|${binding}`, purposeKey(secret, cookie.key));
  if (!opened.ok) return null;
  let json: unknown;
  try {
    json = JSON.parse(opened.plaintext);
  } catch {
    return null;
  }
  const envelope = Envelope.safeParse(json);
  if (!envelope.success || envelope.data.e * 1000 <= now) return null;
  const value = cookie.schema.safeParse(envelope.data.v);
  return value.success ? { value: value.data, issuedAt: envelope.data.t } : null;
}

const flowBinding = (state: string, provider: string) => `${provider}|${state}`;

/** The flow cookie's value for a flow that starts now with this `state`. */
export function sealFlowChoice(choice: { provider: string; purpose: FlowPurpose }, state: string, secret: string, now = Date.now()): string {
  return sealCookie(FLOW, choice.purpose, flowBinding(state, choice.provider), secret, now);
}

/**
 * The flow in a cookie value, if it is genuine, unexpired, and was made for
 * this flow (`state` from the callback's query) and this provider; else null.
 */
export function openFlowChoice(value: string | undefined, expected: { state: string | null; provider: string }, secret: string, now = Date.now()): FlowChoice | null {
  if (!expected.state) return null;
  const opened = openCookie(FLOW, value, flowBinding(expected.state, expected.provider), secret, now);
  return opened && { provider: expected.provider, purpose: opened.value, startedAt: opened.issuedAt };
}

export function sealPendingLink(link: PendingLink, secret: string, now = Date.now()): string {
  return sealCookie(PENDING_LINK, link, "", secret, now);
}

/** The pending link in a cookie value if it is genuine and unexpired; else null. */
export function openPendingLink(value: string | undefined, secret: string, now = Date.now()): PendingLink | null {
  return openCookie(PENDING_LINK, value, "", secret, now)?.value ?? null;
}

/**
 * Whether a pending link may be completed by a password sign-in to `account`:
 * only to the account it was made for, while that account still has the
 * address the provider verified.
 */
export function pendingLinkBelongsTo(link: PendingLink, account: { id: string; email: string }): boolean {
  return link.userId === account.id && link.email.toLowerCase() === account.email.toLowerCase();
}

/** A provider cookie's name on this kind of connection (`__Host-` on https, like the session cookies). */
export function providerCookieName(name: typeof FLOW_COOKIE | typeof PENDING_LINK_COOKIE, https: boolean): string {
  return https ? `__Host-${name}` : name;
}

/** HttpOnly, SameSite=Lax (the provider sends the browser back with a top-level GET), host-only, short. */
export function providerCookieOptions(https: boolean) {
  return { httpOnly: true, sameSite: "lax" as const, path: "/", secure: https, maxAge: FLOW_TTL_SECONDS };
}

/** A provider cookie's deletion, with the attributes it was set with (a `__Host-` cookie is only replaced by a Secure one). */
export function providerCookieDeletion(name: string, https: boolean) {
  return { name, ...providerCookieOptions(https), maxAge: 0 };
}
