import "server-only";
import { countActiveSessions, listActiveSessions, type ActiveFilter, type IdleRule, type ListedSession } from "../sessions/store";
import { apiStrategy } from "./api";
import { databaseStrategy } from "./database";
import { jwtStrategy } from "./jwt";
import type { SessionStrategy, VerifiedSession } from "./types";

/**
 * The registry: every kind of session the app knows, browser kinds in the
 * order the sign-in form lists them. A new kind is one file plus one entry here.
 */
export const strategies = [databaseStrategy, jwtStrategy, apiStrategy] as const;

export type StrategyKind = (typeof strategies)[number]["kind"];
export type Strategy = SessionStrategy<StrategyKind>;
export type Session = VerifiedSession<StrategyKind>;

/** A registry: the app's, or (in tests) one with a kind added. */
export type Registry = readonly SessionStrategy[];

/** Kinds a browser signs in with (they live in a cookie). */
export function browserStrategies<R extends Registry>(registry: R): R[number][] {
  return registry.filter((strategy) => strategy.transport === "cookie");
}

/** The kinds the sign-in form offers. */
export const browserKinds = browserStrategies(strategies).map((strategy) => strategy.kind) as [StrategyKind, ...StrategyKind[]];

export function strategyByKind(kind: string): Strategy | undefined {
  return strategies.find((strategy) => strategy.kind === kind);
}

export function isBrowserKind(kind: string): kind is StrategyKind {
  return browserKinds.some((candidate) => candidate === kind);
}

/** The cookie a strategy uses on this kind of connection. */
export function cookieNameFor(strategy: SessionStrategy, https: boolean): string | null {
  if (strategy.cookieName === null) return null;
  return https ? `__Host-${strategy.cookieName}` : strategy.cookieName;
}

/** Which kinds end when idle, and after how long: what the session store needs to tell active rows. */
export function idleRules(): IdleRule[] {
  return strategies.flatMap((strategy) =>
    strategy.idleTimeoutSeconds === null ? [] : [{ kind: strategy.kind, idleTimeoutSeconds: strategy.idleTimeoutSeconds }],
  );
}

/** Sessions of any kind that still count (not revoked, not expired, not idle), newest first. */
export function activeSessions(filter: ActiveFilter, now = new Date()): Promise<ListedSession[]> {
  return listActiveSessions(filter, idleRules(), now);
}

/** How many sessions that still count each of these users holds. */
export function activeSessionCounts(userIds: string[], now = new Date()): Promise<Map<string, number>> {
  return countActiveSessions(userIds, idleRules(), now);
}

/** The label of a kind in session tables; an unknown name is shown as it is. */
export function sessionLabel(kind: string): string {
  return strategyByKind(kind)?.sessionLabel ?? kind;
}

/** What the sign-in forms need to list the choices (plain data, safe for client components). */
export function strategyOptions(): { kind: StrategyKind; label: string; hint: string }[] {
  return browserStrategies(strategies).map((strategy) => ({ kind: strategy.kind, label: strategy.label, hint: strategy.facts().hint }));
}

export type { SessionStrategy, VerifiedSession, Evidence, IssuedCredential, RevocationResult, Sequence, SequenceMessage, SequencePhase, StrategyFacts } from "./types";
