import "server-only";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { purposeKey } from "../tokens/sealed";

/**
 * The session kind a user picked before leaving for a provider, carried to the
 * provider's callback in a short-lived, signed, HttpOnly cookie, never in the
 * URL. It is bound to the flow: it holds a hash of the flow's `state`, and the
 * callback accepts it only with that same `state`, so a value from another
 * flow (another tab, another provider, a replay) is refused, and so is one
 * that was edited or has expired. Set when the flow starts, cleared in the
 * callback whatever the outcome.
 *
 * Value: "v1.<payload base64url JSON>.<HMAC-SHA256 base64url>", keyed by a key
 * derived from the server's Auth.js secret for this purpose only.
 */

export const FLOW_COOKIE = "sot.provider-flow";
/** Long enough to sign in at the provider; a flow left longer starts again. */
export const FLOW_TTL_SECONDS = 10 * 60;

export interface FlowChoice {
  /** The session kind picked on the form. */
  strategy: string;
  /** The provider the flow went to. */
  provider: string;
}

interface Payload {
  k: string;
  p: string;
  /** SHA-256 of the flow's state, base64url. */
  s: string;
  /** Expiry, seconds since the epoch. */
  e: number;
}

const b64 = (buffer: Buffer) => buffer.toString("base64url");

const flowKey = (secret: string) => purposeKey(secret, "session-or-token provider-flow v1");

function stateHash(state: string): string {
  return b64(createHash("sha256").update(state).digest());
}

function mac(secret: string, body: string): Buffer {
  return createHmac("sha256", flowKey(secret)).update(`v1.${body}`).digest();
}

/** The cookie value for a flow that starts now with this `state`. */
export function sealFlowChoice(choice: FlowChoice, state: string, secret: string, now = Date.now()): string {
  const payload: Payload = { k: choice.strategy, p: choice.provider, s: stateHash(state), e: Math.floor(now / 1000) + FLOW_TTL_SECONDS };
  const body = b64(Buffer.from(JSON.stringify(payload)));
  return `v1.${body}.${b64(mac(secret, body))}`;
}

/**
 * The choice in a cookie value, if it is genuine, unexpired, and was made for
 * this flow (`state` from the callback's query) and this provider; else null.
 */
export function openFlowChoice(value: string | undefined, expected: { state: string | null; provider: string }, secret: string, now = Date.now()): FlowChoice | null {
  if (!value || !expected.state || value.length > 1024) return null;
  const [version, body, signature, ...rest] = value.split(".");
  if (version !== "v1" || !body || !signature || rest.length > 0) return null;
  const given = Buffer.from(signature, "base64url");
  const wanted = mac(secret, body);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (!isPayload(payload)) return null;
  if (payload.e * 1000 <= now) return null;
  if (payload.p !== expected.provider) return null;
  const bound = Buffer.from(payload.s);
  const presented = Buffer.from(stateHash(expected.state));
  if (bound.length !== presented.length || !timingSafeEqual(bound, presented)) return null;
  return { strategy: payload.k, provider: payload.p };
}

function isPayload(value: unknown): value is Payload {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.k === "string" && typeof record.p === "string" && typeof record.s === "string" && typeof record.e === "number";
}

/** The flow cookie's name on this kind of connection (`__Host-` on https, like the session cookies). */
export function flowCookieName(https: boolean): string {
  return https ? `__Host-${FLOW_COOKIE}` : FLOW_COOKIE;
}

/** HttpOnly, SameSite=Lax (the provider sends the browser back with a top-level GET), host-only, short. */
export function flowCookieOptions(https: boolean) {
  return { httpOnly: true, sameSite: "lax" as const, path: "/", secure: https, maxAge: FLOW_TTL_SECONDS };
}
