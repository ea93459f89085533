import "server-only";
import { acceptsSession } from "./revocation";
import { cookieNameFor, strategies, type SessionStrategy, type VerifiedSession } from "./strategies";
import { MAX_TOKEN_LENGTH, verifyAccessToken } from "./tokens";

/** Attributes of every session cookie: HttpOnly, SameSite=Lax, Path=/, Secure on https. */
export function sessionCookieOptions(https: boolean, expires: Date) {
  return { httpOnly: true, sameSite: "lax" as const, path: "/", secure: https, expires };
}

/** Anything that can hand out cookies by name: next/headers' jar or NextRequest.cookies. */
export interface CookieSource {
  get(name: string): { value: string } | undefined;
}

/** Longest cookie value any strategy reads; longer ones are refused unparsed. */
const MAX_COOKIE_LENGTH = 4096;

/**
 * The session a request carries, or null. Each strategy reads only its own
 * cookie, so a JWT is never handed to the database lookup and vice versa.
 */
export async function resolveSession(cookies: CookieSource, https: boolean): Promise<VerifiedSession | null> {
  for (const strategy of strategies) {
    const value = cookies.get(cookieNameFor(strategy, https))?.value;
    if (!value || value.length > MAX_COOKIE_LENGTH) continue;
    const session = await (strategy as SessionStrategy).verify(value);
    if (session) return { ...session, via: "cookie" };
  }
  return null;
}

/** `Authorization: Bearer <compact JWS>`; anything else in the header is not a bearer token. */
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

export function bearerToken(authorization: string | null): string | null {
  if (authorization === null || authorization.length > MAX_TOKEN_LENGTH + 16) return null;
  return BEARER.exec(authorization)?.[1] ?? null;
}

/** The session behind an API access token, or null (bad header, bad token, revoked in strict mode). */
export async function resolveBearer(authorization: string): Promise<VerifiedSession | null> {
  const token = bearerToken(authorization);
  if (!token) return null;
  const verified = await verifyAccessToken(token);
  if (!verified || !(await acceptsSession(verified.claims.sid))) return null;
  const { claims } = verified;
  const user = { id: claims.sub, email: claims.email, name: claims.name, role: "user" };
  return { strategy: "jwt", user, expires: new Date(claims.exp * 1000), credential: token, sessionId: claims.sid, via: "bearer" };
}

/**
 * The session of an API request: an Authorization header, when present, is
 * the only credential considered (a bad one is not rescued by a cookie);
 * otherwise the cookies.
 */
export function resolveRequestSession(cookies: CookieSource, authorization: string | null, https: boolean): Promise<VerifiedSession | null> {
  return authorization === null ? resolveSession(cookies, https) : resolveBearer(authorization);
}

/** Every strategy cookie present on a request, with the strategy that owns it. */
export function presentCredentials(cookies: CookieSource, https: boolean): { strategy: SessionStrategy; name: string; value: string }[] {
  return strategies.flatMap((strategy) => {
    const name = cookieNameFor(strategy, https);
    const value = cookies.get(name)?.value;
    return value ? [{ strategy: strategy as SessionStrategy, name, value }] : [];
  });
}

// ---- proxy → handler hand-off ----
//
// The proxy has just verified the session; the page or route handler behind it
// must check again, and doing the full verification twice would double the
// cost of every protected request. So the proxy leaves a ticket: a random,
// single-use, seconds-long reference to its result, kept in this process's
// memory and named in a request header. The handler accepts it only if it is
// known, unexpired and bound to the very cookie value on its request; anything
// else (no proxy ran, another process, a forged header) means a full check.

export const VERIFIED_TICKET_HEADER = "x-sot-verified";
const TICKET_TTL_MS = 10_000;

interface Ticket {
  session: VerifiedSession;
  expiresAt: number;
}

const ticketsKey = Symbol.for("session-or-token.tickets");
type GlobalWithTickets = typeof globalThis & { [ticketsKey]?: Map<string, Ticket> };

function tickets(): Map<string, Ticket> {
  const holder = globalThis as GlobalWithTickets;
  return (holder[ticketsKey] ??= new Map());
}

/** Stores a verified session for the handler of this request; returns the ticket to put in the header. */
export function issueTicket(session: VerifiedSession, now = Date.now()): string {
  const store = tickets();
  // Entries expire in insertion order: drop the stale ones from the front.
  for (const [id, ticket] of store) {
    if (ticket.expiresAt > now) break;
    store.delete(id);
  }
  const id = crypto.randomUUID();
  store.set(id, { session, expiresAt: now + TICKET_TTL_MS });
  return id;
}

/** The session the proxy verified for this request, if the ticket is genuine and matches the credential. */
export function redeemTicket(
  id: string | null,
  cookies: CookieSource,
  authorization: string | null,
  https: boolean,
  now = Date.now(),
): VerifiedSession | null {
  if (!id) return null;
  const store = tickets();
  const ticket = store.get(id);
  if (!ticket) return null;
  store.delete(id);
  const { session } = ticket;
  if (ticket.expiresAt <= now || session.expires.getTime() <= now) return null;
  if (session.via === "bearer") return bearerToken(authorization) === session.credential ? session : null;
  const strategy = strategies.find((candidate) => candidate.name === session.strategy);
  if (!strategy || cookies.get(cookieNameFor(strategy, https))?.value !== session.credential) return null;
  return session;
}
