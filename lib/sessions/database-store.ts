import "server-only";
import { db, isUniqueViolation, parseDbDate, pingDatabase, queryRows, type Row } from "../platform/db";
import { authenticationColumns, authenticationFromColumns, idleSince, originColumns, originFromColumns, type IdleRule, type SessionBackend, type StoredSession } from "./backend";
import { revokeAndAnnounce } from "./feed";

/**
 * Sessions in the Prisma database (SESSION_STORE=database, the default): the
 * Session and RefreshToken tables. The per-request reads go to the driver
 * directly (queryRows: a cached prepared statement on SQLite), the rest through
 * Prisma Client.
 */

const selectSession = `SELECT s."id", s."sessionToken", s."strategy", s."userId", s."createdAt", s."expires", s."lastSeenAt",
         s."userAgent", s."ip", s."revokedAt", s."revokedReason",
         s."signInMethod", s."idpIssuer", s."idpSubject", s."idpSessionId", s."authTime", s."amr", u."email", u."name"
    FROM "Session" s JOIN "User" u ON u."id" = s."userId"`;

const listedFields = { id: true, strategy: true, userId: true, userAgent: true, ip: true, createdAt: true, lastSeenAt: true, expires: true } as const;

/** The Prisma filter for sessions that still count: not revoked, before their absolute end, not idle for longer than their kind allows. */
function activeWhere(now: Date, idleRules: readonly IdleRule[]) {
  return {
    revokedAt: null,
    expires: { gt: now },
    AND: idleRules.map((rule) => ({ OR: [{ strategy: { not: rule.kind } }, { lastSeenAt: { gte: idleSince(now, rule) } }] })),
  };
}

export const databaseBackend: SessionBackend = {
  name: "database",

  ping: pingDatabase,

  async insert({ tokenHash, userId, kind, expires, userAgent, ip, now, origin, authentication }) {
    const row = await db().session.create({
      data: {
        sessionToken: tokenHash,
        userId,
        strategy: kind,
        expires,
        createdAt: now,
        lastSeenAt: now,
        userAgent,
        ip,
        ...originColumns(origin),
        ...authenticationColumns(authentication),
      },
      include: { user: { select: { id: true, email: true, name: true } } },
    });
    const { sessionToken, signInMethod, idpIssuer, idpSubject, idpSessionId, authTime, amr, ...stored } = row;
    return {
      ...stored,
      tokenHash: sessionToken,
      origin: originFromColumns({ signInMethod, idpIssuer, idpSubject, idpSessionId }),
      authentication: authenticationFromColumns(authTime, amr),
    };
  },

  async findByTokenHash(tokenHash) {
    const [row] = await queryRows(`${selectSession} WHERE s."sessionToken" = $1`, [tokenHash]);
    return row ? toStoredSession(row) : null;
  },

  async findById(id) {
    const [row] = await queryRows(`${selectSession} WHERE s."id" = $1`, [id]);
    return row ? toStoredSession(row) : null;
  },

  async activeExpiry(id, now) {
    const [row] = await queryRows(`SELECT "revokedAt", "expires" FROM "Session" WHERE "id" = $1`, [id]);
    if (!row || (row.revokedAt !== null && row.revokedAt !== undefined)) return null;
    const expires = parseDbDate(row.expires);
    return expires > now ? expires : null;
  },

  async activeUser(id, userId, now) {
    const [row] = await queryRows(
      `SELECT s."revokedAt", s."expires", s."userId", u."email", u."name" FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE s."id" = $1`,
      [id],
    );
    if (!row || (row.revokedAt !== null && row.revokedAt !== undefined) || row.userId !== userId) return null;
    if (parseDbDate(row.expires) <= now) return null;
    return { id: userId, email: text(row.email), name: textOrNull(row.name) };
  },

  async recordActivity(id, expected, now) {
    await db().session.updateMany({ where: { id, lastSeenAt: expected }, data: { lastSeenAt: now } });
  },

  async touch(id, now, notSince) {
    const { count } = await db().session.updateMany({ where: { id, revokedAt: null, lastSeenAt: { lt: notSince } }, data: { lastSeenAt: now } });
    return count > 0;
  },

  async recordAuthentication(id, authentication, now) {
    const { count } = await db().session.updateMany({
      where: { id, revokedAt: null, expires: { gt: now } },
      data: authenticationColumns(authentication),
    });
    return count > 0;
  },

  async findByProviderSession(match, now) {
    if (match.sid === null && match.subject === null) return [];
    const rows = await db().session.findMany({
      where: {
        idpIssuer: match.issuer,
        ...(match.sid !== null ? { idpSessionId: match.sid } : {}),
        ...(match.subject !== null ? { idpSubject: match.subject } : {}),
        revokedAt: null,
        expires: { gt: now },
      },
      select: { id: true },
    });
    return rows.map((row) => row.id);
  },

  async revoke(id, reason, now) {
    const count = await revokeAndAnnounce(
      { sessionIds: [id] },
      async (store) => (await store.session.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now, revokedReason: reason } })).count,
    );
    return count > 0;
  },

  async deleteById(id) {
    return (await revokeAndAnnounce({ sessionIds: [id] }, async (store) => (await store.session.deleteMany({ where: { id } })).count)) > 0;
  },

  async deleteByTokenHash(tokenHash) {
    const count = await revokeAndAnnounce(
      { tokenHashes: [tokenHash] },
      async (store) => (await store.session.deleteMany({ where: { sessionToken: tokenHash } })).count,
    );
    return count > 0;
  },

  async listActive(filter, now, idleRules) {
    return db().session.findMany({
      where: {
        ...activeWhere(now, idleRules),
        ...(filter.userId ? { userId: filter.userId } : {}),
        ...(filter.id ? { id: filter.id } : filter.exceptId ? { id: { not: filter.exceptId } } : {}),
      },
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
      take: filter.take,
      select: listedFields,
    });
  },

  async countActive(userIds, now, idleRules) {
    const groups = await db().session.groupBy({ by: ["userId"], where: { userId: { in: userIds }, ...activeWhere(now, idleRules) }, _count: { _all: true } });
    return new Map(groups.map((group) => [group.userId, group._count._all]));
  },

  async purgeExpired(idleRules, now) {
    const { count } = await db().session.deleteMany({
      where: { OR: [{ expires: { lte: now } }, ...idleRules.map((rule) => ({ strategy: rule.kind, lastSeenAt: { lt: idleSince(now, rule) } }))] },
    });
    return count;
  },

  async createRefreshToken({ tokenHash, sessionId, createdAt, expiresAt }) {
    return db()
      .refreshToken.create({ data: { tokenHash, sessionId, createdAt, expiresAt } })
      .then(
        () => true,
        (error: unknown) => {
          if (isUniqueViolation(error)) return false;
          throw error;
        },
      );
  },

  async findRefreshToken(tokenHash) {
    return db().refreshToken.findUnique({ where: { tokenHash }, select: { id: true, sessionId: true, createdAt: true, expiresAt: true, usedAt: true } });
  },

  async markRefreshTokenUsed(tokenHash, now) {
    await db().refreshToken.updateMany({ where: { tokenHash, usedAt: null }, data: { usedAt: now } });
  },
};

function text(value: unknown): string {
  if (typeof value !== "string") throw new TypeError("expected a text column");
  return value;
}

function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : text(value);
}

function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : parseDbDate(value);
}

function toStoredSession(row: Row): StoredSession {
  const userId = text(row.userId);
  return {
    id: text(row.id),
    tokenHash: textOrNull(row.sessionToken),
    strategy: text(row.strategy),
    userId,
    createdAt: parseDbDate(row.createdAt),
    expires: parseDbDate(row.expires),
    lastSeenAt: parseDbDate(row.lastSeenAt),
    userAgent: textOrNull(row.userAgent),
    ip: textOrNull(row.ip),
    revokedAt: dateOrNull(row.revokedAt),
    revokedReason: textOrNull(row.revokedReason),
    origin: originFromColumns({
      signInMethod: textOrNull(row.signInMethod),
      idpIssuer: textOrNull(row.idpIssuer),
      idpSubject: textOrNull(row.idpSubject),
      idpSessionId: textOrNull(row.idpSessionId),
    }),
    authentication: authenticationFromColumns(dateOrNull(row.authTime), textOrNull(row.amr)),
    user: { id: userId, email: text(row.email), name: textOrNull(row.name) },
  };
}
