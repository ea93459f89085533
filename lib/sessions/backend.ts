import "server-only";

/**
 * What a session store does, whichever holds the sessions (SESSION_STORE):
 * the Prisma database (./database-store.ts) or Redis (./redis-store.ts). The
 * store knows rows, not kinds: `strategy` holds the kind's name, and the
 * per-kind rules (which kinds time out when idle) come in as arguments from
 * lib/strategies. Tokens are never stored, only their SHA-256.
 *
 * Every write that ends a session (revoke, delete) also announces it to the
 * revocation feed (./feed.ts) atomically with the write: NOTIFY in the same
 * PostgreSQL transaction, PUBLISH in the same Redis script.
 */

export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
}

/**
 * How the user proved who they are at the sign-in that started a session.
 * Provider sign-ins carry the identity (issuer, subject) and the provider's own
 * session id (`sid` of its ID token, when it sends one): back-channel logout
 * finds our sessions by (issuer, sid).
 */
export type SignInOrigin =
  | { method: "password" | "email_link" }
  | { method: "oidc"; issuer: string; subject: string; providerSessionId: string | null };

/**
 * When and how the user last proved who they are in a session (OpenID Connect's
 * `auth_time` and RFC 8176 `amr`): set at sign-in, moved forward only by a
 * confirmation ("Confirm it's you"), never by refresh or sliding renewal.
 */
export interface Authentication {
  time: Date;
  /** RFC 8176 method references: "pwd", "otp" (a one-time email link), or what the provider said. */
  methods: string[];
}

/** Kinds whose sessions end after this long without use (database sessions). */
export interface IdleRule {
  kind: string;
  idleTimeoutSeconds: number;
}

export interface StoredSession {
  id: string;
  /** SHA-256 of the cookie token (database strategy); null for token sessions. */
  tokenHash: string | null;
  strategy: string;
  userId: string;
  createdAt: Date;
  expires: Date;
  lastSeenAt: Date;
  userAgent: string | null;
  ip: string | null;
  revokedAt: Date | null;
  revokedReason: string | null;
  /**
   * Null for sessions started before this was recorded, and for API token
   * families from a password grant; a family exchanged from a browser session
   * has that session's.
   */
  origin: SignInOrigin | null;
  /** Null for sessions started before this was recorded: too old for any sensitive action. */
  authentication: Authentication | null;
  user: SessionUser;
}

/** A session as listed (account and admin pages): no user join. */
export type ListedSession = Omit<StoredSession, "user" | "tokenHash" | "revokedAt" | "revokedReason" | "origin" | "authentication">;

export interface NewSession {
  tokenHash?: string;
  userId: string;
  kind: string;
  expires: Date;
  userAgent: string | null;
  ip: string | null;
  now: Date;
  origin?: SignInOrigin;
  authentication?: Authentication;
}

export interface ActiveFilter {
  userId?: string;
  /** Leave this session out (the one asking). */
  exceptId?: string;
  /** Only this session. */
  id?: string;
  take?: number;
}

export interface RefreshTokenRecord {
  id: string;
  sessionId: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
}

export interface SessionBackend {
  readonly name: "database" | "redis";
  /** Resolves if the store answers right now; throws if it does not. */
  ping(): Promise<void>;
  insert(data: NewSession): Promise<StoredSession>;
  findByTokenHash(tokenHash: string): Promise<StoredSession | null>;
  findById(id: string): Promise<StoredSession | null>;
  /** When an active session ends (its absolute lifetime); null if revoked, expired or unknown. The strict per-request check. */
  activeExpiry(id: string, now: Date): Promise<Date | null>;
  /** The strict check of a browser JWT: active and owned by `userId` → the user; else null. */
  activeUser(id: string, userId: string, now: Date): Promise<SessionUser | null>;
  /** Sets lastSeenAt to `now` if it is still `expected` (of concurrent callers one writes). */
  recordActivity(id: string, expected: Date, now: Date): Promise<void>;
  /** Sets lastSeenAt to `now` unless revoked or seen at or after `notSince`; true if this call wrote. */
  touch(id: string, now: Date, notSince: Date): Promise<boolean>;
  /** Records a new authentication (a confirmation) on an active session; false if it is revoked, expired or unknown. */
  recordAuthentication(id: string, authentication: Authentication, now: Date): Promise<boolean>;
  /** Marks a session revoked (idempotent) and announces it; true if this call revoked it. */
  revoke(id: string, reason: string, now: Date): Promise<boolean>;
  /** Deletes a session (and its refresh tokens) and announces it; true if a session was removed. */
  deleteById(id: string): Promise<boolean>;
  deleteByTokenHash(tokenHash: string): Promise<boolean>;
  /** Active sessions (not revoked, before their end, not idle), newest first. */
  listActive(filter: ActiveFilter, now: Date, idleRules: readonly IdleRule[]): Promise<ListedSession[]>;
  /** How many active sessions each of these users holds. */
  countActive(userIds: string[], now: Date, idleRules: readonly IdleRule[]): Promise<Map<string, number>>;
  /** Removes what nothing accepts any more; returns how many sessions. */
  purgeExpired(idleRules: readonly IdleRule[], now: Date): Promise<number>;
  /** Stores a refresh token of a family; false if one with this hash exists already. */
  createRefreshToken(data: { tokenHash: string; sessionId: string; createdAt: Date; expiresAt: Date }): Promise<boolean>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null>;
  /** Marks a refresh token used unless it already is. */
  markRefreshTokenUsed(tokenHash: string, now: Date): Promise<void>;
  /**
   * Ids of the unrevoked, unexpired sessions started from a provider session:
   * by (issuer, sid), or with `sid` null by (issuer, subject) — every session
   * of that subject at that issuer. Back-channel logout revokes them.
   */
  findByProviderSession(match: ProviderSessionMatch, now: Date): Promise<string[]>;
}

/** What a back-channel logout token names: the issuer and its `sid` and/or `sub`. */
export interface ProviderSessionMatch {
  issuer: string;
  sid: string | null;
  subject: string | null;
}

/** True if a session's origin is covered by the match (`sid` when given, else `subject`). */
export function originMatches(origin: SignInOrigin | null, match: ProviderSessionMatch): boolean {
  if (origin?.method !== "oidc" || origin.issuer !== match.issuer) return false;
  if (match.sid !== null) return origin.providerSessionId === match.sid && (match.subject === null || origin.subject === match.subject);
  return match.subject !== null && origin.subject === match.subject;
}

/** The stored columns of an origin (all null when there is none). */
export function originColumns(origin: SignInOrigin | undefined) {
  const provider = origin?.method === "oidc" ? origin : null;
  return {
    signInMethod: origin?.method ?? null,
    idpIssuer: provider?.issuer ?? null,
    idpSubject: provider?.subject ?? null,
    idpSessionId: provider?.providerSessionId ?? null,
  };
}

/** An origin read back from its columns; null when the method is missing or unknown. */
export function originFromColumns(columns: { signInMethod: string | null; idpIssuer: string | null; idpSubject: string | null; idpSessionId: string | null }): SignInOrigin | null {
  const { signInMethod: method, idpIssuer: issuer, idpSubject: subject, idpSessionId } = columns;
  if (method === "password" || method === "email_link") return { method };
  if (method === "oidc" && issuer && subject) return { method, issuer, subject, providerSessionId: idpSessionId };
  return null;
}

/** The stored columns of an authentication (null when there is none). */
export function authenticationColumns(authentication: Authentication | undefined) {
  return { authTime: authentication?.time ?? null, amr: authentication ? authentication.methods.join(" ") : null };
}

/** An authentication read back from its columns; null without a time. */
export function authenticationFromColumns(authTime: Date | null, amr: string | null): Authentication | null {
  if (!authTime || Number.isNaN(authTime.getTime())) return null;
  return { time: authTime, methods: amr ? amr.split(" ").filter(Boolean) : [] };
}

export function idleSince(now: Date, rule: IdleRule): Date {
  return new Date(now.getTime() - rule.idleTimeoutSeconds * 1000);
}

/** True if the session has been unused for longer than its kind allows. */
export function isIdle(session: { strategy: string; lastSeenAt: Date }, now: Date, idleRules: readonly IdleRule[]): boolean {
  const rule = idleRules.find((candidate) => candidate.kind === session.strategy);
  return rule !== undefined && session.lastSeenAt < idleSince(now, rule);
}
