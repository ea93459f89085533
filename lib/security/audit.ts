import "server-only";
import { db, parseDbDate, queryRows } from "../platform/db";
import { log } from "../platform/log";
import type { ClientContext } from "./request";

/** Every kind of event the audit log records. */
export type AuditEventName =
  | "signin.succeeded"
  | "signin.failed"
  | "signout"
  | "session.revoked"
  | "refresh.reuse_detected"
  | "password.changed"
  | "password.reset"
  | "rate_limit.hit"
  | "register"
  | "session.reauthenticated"
  | "password.set"
  | "provider.linked"
  | "provider.link_refused"
  | "provider.unlinked";

export interface AuditInput {
  userId?: string | null;
  /** The email an attempt named, for failures on unknown accounts. */
  email?: string | null;
  context?: ClientContext;
  /** Small, secret-free details (never passwords or tokens). */
  detail?: Record<string, string | number | boolean | null>;
}

/**
 * Records a security event. Auditing must never break the action it records:
 * a failed write is logged and swallowed.
 */
export async function audit(event: AuditEventName, input: AuditInput = {}): Promise<void> {
  try {
    await db().auditEvent.create({
      data: {
        event,
        userId: input.userId ?? null,
        email: input.email?.toLowerCase().slice(0, 254) ?? null,
        ip: input.context?.ip ?? null,
        userAgent: input.context?.userAgent ?? null,
        detail: input.detail ? JSON.stringify(input.detail) : null,
      },
    });
  } catch (error) {
    log.error("audit.write_failed", { event, error });
  }
}

export interface AuditRecord {
  id: string;
  createdAt: Date;
  event: string;
  userId: string | null;
  email: string | null;
  ip: string | null;
  userAgent: string | null;
  detail: string | null;
}

/**
 * A user's own events, newest first. The dashboard shows them on every load:
 * one cached prepared statement on the driver (queryRows), not Prisma Client,
 * which costs a few hundred microseconds more per query.
 */
export async function auditEventsForUser(userId: string, take = 50): Promise<AuditRecord[]> {
  const rows = await queryRows(
    `SELECT "id", "createdAt", "event", "userId", "email", "ip", "userAgent", "detail" FROM "AuditEvent" WHERE "userId" = $1 ORDER BY "createdAt" DESC LIMIT ${Math.max(0, Math.trunc(take))}`,
    [userId],
  );
  const textOrNull = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return rows.map((row) => ({
    id: String(row.id),
    createdAt: parseDbDate(row.createdAt),
    event: String(row.event),
    userId: textOrNull(row.userId),
    email: textOrNull(row.email),
    ip: textOrNull(row.ip),
    userAgent: textOrNull(row.userAgent),
    detail: textOrNull(row.detail),
  }));
}

/** Everyone's events, newest first (admin). */
export function recentAuditEvents(take = 200): Promise<AuditRecord[]> {
  return db().auditEvent.findMany({ orderBy: { createdAt: "desc" }, take });
}
