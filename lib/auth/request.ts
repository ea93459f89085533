import "server-only";
import { RequestCookies } from "next/dist/server/web/spec-extension/cookies";
import { isHttps, isSameOriginRequest } from "../security/request";
import { browserStrategies, cookieNameFor, strategies, strategyByKind, type Session, type SessionStrategy, type VerifiedSession } from "../strategies";
import { MAX_TOKEN_LENGTH } from "../tokens/jwt";

/**
 * The one rule that decides which credential a request carries, used by
 * proxy.ts, by `auth()` and by the route-handler wrapper alike:
 *
 * - browser routes (pages, server actions, Auth.js endpoints) take cookies
 *   only: an `Authorization` header is ignored there, so a page is never
 *   served to a bearer token;
 * - API routes ("api-route") take `Authorization: Bearer`, or when that header is absent a
 *   cookie. A bad Authorization header is never rescued by a cookie.
 *
 * Each kind reads only its own credential, so a JWT is never handed to the
 * database lookup and vice versa.
 */
export type RequestScope = "browser" | "api-route";

/** Anything that can hand out cookies by name: next/headers' jar or NextRequest.cookies. */
export interface CookieSource {
  get(name: string): { value: string } | undefined;
}

export interface HeaderSource {
  get(name: string): string | null;
}

export interface CredentialSource {
  cookies: CookieSource;
  headers: HeaderSource;
}

/** Longest cookie value any kind reads; longer ones are refused unparsed. */
const MAX_COOKIE_LENGTH = 4096;

/** `Authorization: Bearer <compact JWS>`; anything else in the header is not a bearer token. */
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

export function bearerToken(authorization: string | null): string | null {
  if (authorization === null || authorization.length > MAX_TOKEN_LENGTH + 16) return null;
  return BEARER.exec(authorization)?.[1] ?? null;
}

export interface PresentedCredential<K extends string> {
  strategy: SessionStrategy<K>;
  value: string;
}

/** The credentials a request presents under the rule, each with the kind that may read it. */
export function presentedCredentials<K extends string>(
  registry: readonly SessionStrategy<K>[],
  scope: RequestScope,
  source: CredentialSource,
): PresentedCredential<K>[] {
  const authorization = scope === "api-route" ? source.headers.get("authorization") : null;
  if (authorization !== null) {
    const token = bearerToken(authorization);
    if (!token) return [];
    return registry.filter((strategy) => strategy.transport === "bearer").map((strategy) => ({ strategy, value: token }));
  }
  const https = isHttps(source.headers);
  return browserStrategies(registry).flatMap((strategy) => {
    const name = cookieNameFor(strategy, https);
    const value = name === null ? undefined : source.cookies.get(name)?.value;
    return value && value.length <= MAX_COOKIE_LENGTH ? [{ strategy, value }] : [];
  });
}

/** True if the request carried an Authorization header the rule looked at (for RFC 6750's `invalid_token`). */
export function presentedToken(scope: RequestScope, source: CredentialSource): boolean {
  return scope === "api-route" && source.headers.get("authorization") !== null;
}

/** The session the request's credential proves under a given registry, or null. */
export async function resolveWith<K extends string>(
  registry: readonly SessionStrategy<K>[],
  scope: RequestScope,
  source: CredentialSource,
): Promise<VerifiedSession<K> | null> {
  for (const { strategy, value } of presentedCredentials(registry, scope, source)) {
    const session = await strategy.verify(value);
    if (session) return session;
  }
  return null;
}

/** The session the request's credential proves, or null. */
export function resolveRequestSession(scope: RequestScope, source: CredentialSource): Promise<Session | null> {
  return resolveWith(strategies, scope, source);
}

/** A Fetch API request as the rule reads it: its Cookie header parsed the way Next.js parses it for pages. */
export function credentialSource(request: Request): CredentialSource {
  return { cookies: new RequestCookies(request.headers), headers: request.headers };
}

/** Every name a browser kind's cookie can have (plain and `__Host-`), whatever the connection. */
function sessionCookieNames<K extends string>(registry: readonly SessionStrategy<K>[]): string[] {
  return browserStrategies(registry).flatMap((strategy) => [cookieNameFor(strategy, false), cookieNameFor(strategy, true)].filter((name) => name !== null));
}

/** True if the request carries any session cookie at all (valid or not). */
export function carriesSessionCookie(cookies: CookieSource, registry: readonly SessionStrategy[] = strategies): boolean {
  return sessionCookieNames(registry).some((name) => cookies.get(name) !== undefined);
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Any method but GET, HEAD and OPTIONS may change state. */
export function isStateChanging(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

/**
 * The cross-site request rule, for the proxy (pages, server actions) and every
 * route handler wrapper alike: a state-changing request must not come from
 * another site. Where a session cookie is what the request acts with
 * (`cookies` given: pages, actions, protected routes, sign-in and sign-out),
 * one that says nothing about where it comes from passes only if it carries
 * no session cookie (see isSameOriginRequest). `cookies` null: the route
 * never reads a session cookie (a password grant, a refresh token in the body).
 */
export function refusesCrossSite(request: Request, cookies: CookieSource | null): boolean {
  return isStateChanging(request.method) && !isSameOriginRequest(request, cookies !== null && carriesSessionCookie(cookies));
}

/**
 * Sliding renewal of a browser credential (a JWT past half its life): the
 * cookie to set, or null when the kind does not renew, is not due, or the
 * credential came as a Bearer token (no cookie to renew).
 */
export async function renewedCookie(session: Session, https: boolean): Promise<{ name: string; value: string; expires: Date } | null> {
  const strategy = strategyByKind(session.strategy);
  const name = strategy ? cookieNameFor(strategy, https) : null;
  if (!strategy?.renew || name === null) return null;
  const renewed = await strategy.renew(session);
  return renewed && { name, ...renewed };
}

// ---- proxy → handler hand-off ----
//
// The proxy has just verified the session; the page or route handler behind it
// must check again, and doing the full verification twice would double the
// cost of every protected request. So the proxy leaves a ticket: a random,
// single-use, seconds-long reference to its result, kept in this process's
// memory and named in a request header. The handler accepts it only if it is
// known, unexpired and bound to the very credential the rule finds on its
// request; anything else (no proxy ran, another process, a forged header)
// means a full check.

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

/** The session the proxy verified for this request, if the ticket is genuine and matches the credential the rule finds. */
export function redeemTicket<K extends string>(
  registry: readonly SessionStrategy<K>[],
  scope: RequestScope,
  source: CredentialSource,
  now = Date.now(),
): VerifiedSession<K> | null {
  const id = source.headers.get(VERIFIED_TICKET_HEADER);
  if (!id) return null;
  const store = tickets();
  const ticket = store.get(id);
  if (!ticket) return null;
  store.delete(id);
  if (ticket.expiresAt <= now || ticket.session.expires.getTime() <= now) return null;
  const { session } = ticket;
  const presented = presentedCredentials(registry, scope, source).find(
    (credential) => credential.strategy.kind === session.strategy && credential.value === session.credential,
  );
  return presented ? { ...session, strategy: presented.strategy.kind } : null;
}

/**
 * What `auth()` and the route-handler wrapper run: the proxy's ticket when it
 * is genuine, else the full check — both under the one rule.
 */
export async function sessionFromRequest<K extends string>(
  registry: readonly SessionStrategy<K>[],
  scope: RequestScope,
  source: CredentialSource,
): Promise<VerifiedSession<K> | null> {
  return redeemTicket(registry, scope, source) ?? resolveWith(registry, scope, source);
}
