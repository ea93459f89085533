import "server-only";
import { databaseStrategy } from "./database";
import { jwtStrategy } from "./jwt";
import type { SessionStrategy } from "./types";

/** Every strategy the app offers, in the order the sign-in form lists them. */
export const strategies = [databaseStrategy, jwtStrategy] as const;

export type StrategyName = (typeof strategies)[number]["name"];

export const strategyNames = strategies.map((strategy) => strategy.name) as [StrategyName, ...StrategyName[]];

export function strategyByName(name: string): SessionStrategy | undefined {
  return strategies.find((strategy) => strategy.name === name);
}

/** The cookie a strategy uses on this kind of connection. */
export function cookieNameFor(strategy: SessionStrategy, https: boolean): string {
  return https ? `__Host-${strategy.cookieName}` : strategy.cookieName;
}

export type { SessionStrategy, VerifiedSession, Evidence, RevocationResult } from "./types";

/** What the sign-in forms need to list the choices (plain data, safe for client components). */
export function strategyOptions(): { name: string; label: string; hint: string }[] {
  return strategies.map(({ name, label, hint }) => ({ name, label, hint }));
}
