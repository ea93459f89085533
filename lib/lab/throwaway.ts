import "server-only";
import { randomUUID } from "node:crypto";
import { decodeJwt } from "jose";
import { db } from "../platform/db";
import { log } from "../platform/log";
import { authenticationAtSignIn } from "../auth/browser-session";
import { deleteSessionById, findSessionByToken, type SessionUser } from "../sessions/store";
import type { ClientContext } from "../security/request";
import type { IssuedCredential, Strategy } from "../strategies";

/**
 * A throwaway account for one lab run: never the visitor's own session. It
 * has no password (nobody can sign in to it) and an address under `.invalid`
 * (RFC 2606: no mail can reach it). Every session issued for it is tracked,
 * so that when the run ends — finished, failed or abandoned — its sessions are
 * deleted from whichever store holds them (database or Redis), then its audit
 * rows and the account itself: the run leaves nothing behind.
 */
export interface ThrowawayAccount {
  user: SessionUser;
  /** Remembers the session behind a credential just issued for this account (call before revoking it). */
  track(credential: string): Promise<void>;
  /**
   * Issues `strategy`'s credential as a password sign-in gets it (its
   * authentication recorded, so a JWT has a real sign-in's claims and size)
   * and tracks it.
   */
  signIn(strategy: Strategy, context: ClientContext): Promise<IssuedCredential>;
}

export const THROWAWAY_EMAIL_DOMAIN = "lab.invalid";

function sidOf(credential: string): string | null {
  try {
    const sid = decodeJwt(credential).sid;
    return typeof sid === "string" ? sid : null;
  } catch {
    return null;
  }
}

export async function withThrowawayAccount<T>(run: (account: ThrowawayAccount) => Promise<T>): Promise<T> {
  const user = await db().user.create({
    data: { email: `lab-${randomUUID()}@${THROWAWAY_EMAIL_DOMAIN}`, name: "Comparison lab (throwaway)" },
    select: { id: true, email: true, name: true },
  });
  const sessionIds = new Set<string>();
  const account: ThrowawayAccount = {
    user,
    async track(credential) {
      // A signed token names its session (sid); an opaque cookie token is looked up by its hash.
      const id = sidOf(credential) ?? (await findSessionByToken(credential))?.id ?? null;
      if (id) sessionIds.add(id);
    },
    async signIn(strategy, context) {
      const origin = { method: "password" } as const;
      const issued = await strategy.issue(user, context, origin, authenticationAtSignIn(origin, new Date()));
      await account.track(issued.value);
      return issued;
    },
  };
  try {
    return await run(account);
  } finally {
    await discard(user.id, sessionIds);
  }
}

async function discard(userId: string, sessionIds: Set<string>): Promise<void> {
  for (const id of sessionIds) await deleteSessionById(id);
  await db().auditEvent.deleteMany({ where: { userId } });
  // Cascades to any session row left in the database (one issued but not tracked, e.g. a failure mid-issue).
  await db().user.delete({ where: { id: userId } });
  log.info("lab.throwaway_discarded", { userId, sessions: sessionIds.size });
}
