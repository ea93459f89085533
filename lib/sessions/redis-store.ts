import "server-only";
import { randomBytes } from "node:crypto";
import { env } from "../platform/env";
import { redisScript, runScript, withRedis } from "../platform/redis";
import { authenticationColumns, authenticationFromColumns, isIdle, originColumns, originFromColumns, originMatches, type ListedSession, type SessionBackend, type SessionUser, type StoredSession } from "./backend";
import { applyNotice, revokedIdLifetimeMs, type RevocationNotice } from "./feed";
import { rememberedProfile } from "./profiles";
import { redisKeys as keys } from "./redis-keys";

/**
 * Sessions in Redis (SESSION_STORE=redis): one hash per session, expiring at
 * the session's absolute end; the cookie token's hash points to it; per-user
 * and global sorted sets (scored by the end) list them; refresh tokens are
 * hashes of their own. Users stay in the database: a session's name and e-mail
 * come from a per-user memory of one minute (./profiles.ts).
 *
 * Every write that must be atomic is one Lua script; the scripts that end a
 * session also PUBLISH the revocation on the feed's channel in the same script,
 * so no revocation is written without its notice. Times are milliseconds.
 */

const INSERT = redisScript(`
local exp = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[1], exp)
if ARGV[4] ~= '' then redis.call('SET', KEYS[2], ARGV[1], 'PXAT', exp) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
redis.call('ZADD', KEYS[3], exp, ARGV[1])
if redis.call('PEXPIRETIME', KEYS[3]) < exp then redis.call('PEXPIREAT', KEYS[3], exp) end
redis.call('ZADD', KEYS[4], exp, ARGV[1])
for i = 5, #KEYS do
  redis.call('ZADD', KEYS[i], exp, ARGV[1])
  if redis.call('PEXPIRETIME', KEYS[i]) < exp then redis.call('PEXPIREAT', KEYS[i], exp) end
end
return 1`);

const BY_TOKEN = redisScript(`
local id = redis.call('GET', KEYS[1])
if not id then return {} end
return redis.call('HGETALL', ARGV[1] .. id)`);

const REVOKE = redisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local revoked = redis.call('HGET', KEYS[1], 'revokedAt')
if revoked and revoked ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'revokedAt', ARGV[2], 'revokedReason', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1`);

const DELETE = redisScript(`
local fields = redis.call('HMGET', KEYS[1], 'tokenHash', 'userId')
if not fields[2] then return 0 end
redis.call('DEL', KEYS[1])
if fields[1] and fields[1] ~= '' then redis.call('DEL', ARGV[2] .. fields[1]) end
redis.call('ZREM', ARGV[3] .. fields[2], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`);

const RECORD_ACTIVITY = redisScript(`
if redis.call('HGET', KEYS[1], 'lastSeenAt') == ARGV[1] then redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[2]) return 1 end
return 0`);

const TOUCH = redisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local fields = redis.call('HMGET', KEYS[1], 'revokedAt', 'lastSeenAt')
if fields[1] and fields[1] ~= '' then return 0 end
if tonumber(fields[2]) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[1])
return 1`);

const RECORD_AUTHENTICATION = redisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local fields = redis.call('HMGET', KEYS[1], 'revokedAt', 'expires')
if fields[1] and fields[1] ~= '' then return 0 end
if tonumber(fields[2]) <= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'authTime', ARGV[1], 'amr', ARGV[2])
return 1`);

const CREATE_REFRESH = redisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'sessionId', ARGV[2], 'createdAt', ARGV[3], 'expiresAt', ARGV[4], 'usedAt', '')
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return 1`);

const MARK_REFRESH_USED = redisScript(`
if redis.call('HGET', KEYS[1], 'usedAt') == '' then redis.call('HSET', KEYS[1], 'usedAt', ARGV[1]) end
return 1`);

type Fields = Record<string, string>;

const newId = () => randomBytes(16).toString("base64url");
const ms = (date: Date) => String(date.getTime());
const date = (value: string | undefined) => new Date(Number(value));
const optional = (value: string | undefined) => (value === undefined || value === "" ? null : value);
const optionalDate = (value: string | undefined) => (value === undefined || value === "" ? null : date(value));

/** A flat [field, value, …] reply as an object. */
function fieldsOf(reply: unknown): Fields {
  const list = Array.isArray(reply) ? (reply as unknown[]) : [];
  const fields: Fields = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[String(list[i])] = String(list[i + 1]);
  return fields;
}

function listed(fields: Fields): ListedSession | null {
  if (!fields.id || !fields.userId) return null;
  return {
    id: fields.id,
    strategy: fields.strategy ?? "",
    userId: fields.userId,
    createdAt: date(fields.createdAt),
    expires: date(fields.expires),
    lastSeenAt: date(fields.lastSeenAt),
    userAgent: optional(fields.userAgent),
    ip: optional(fields.ip),
  };
}

async function stored(fields: Fields): Promise<StoredSession | null> {
  const base = listed(fields);
  if (!base) return null;
  const user = await rememberedProfile(base.userId);
  if (!user) return null;
  return { ...base, tokenHash: optional(fields.tokenHash), revokedAt: optionalDate(fields.revokedAt), revokedReason: optional(fields.revokedReason),
    origin: originFromColumns({
      signInMethod: optional(fields.signInMethod),
      idpIssuer: optional(fields.idpIssuer),
      idpSubject: optional(fields.idpSubject),
      idpSessionId: optional(fields.idpSessionId),
    }),
    authentication: authenticationFromColumns(optionalDate(fields.authTime), optional(fields.amr)),
    user,
  };
}

async function sessionFields(id: string): Promise<Fields> {
  return withRedis((client) => client.hgetall(keys.session(id)));
}

/** Deletes by id and publishes `notice` in the same script; applied here before the caller answers. */
async function deleteAndAnnounce(id: string, notice: RevocationNotice): Promise<boolean> {
  const deleted = await runScript(DELETE, [keys.session(id), keys.allSessions], [id, keys.tokenPrefix, keys.userSessionsPrefix, keys.channel, JSON.stringify(notice)]);
  if (deleted !== 1) return false;
  applyNotice(notice);
  return true;
}

export const redisBackend: SessionBackend = {
  name: "redis",

  async ping() {
    await withRedis((client) => client.ping());
  },

  async insert({ tokenHash, userId, kind, expires, userAgent, ip, now, origin, authentication }) {
    const { authTime, amr } = authenticationColumns(authentication);
    const id = newId();
    const fields: Fields = {
      id,
      tokenHash: tokenHash ?? "",
      strategy: kind,
      userId,
      createdAt: ms(now),
      expires: ms(expires),
      lastSeenAt: ms(now),
      userAgent: userAgent ?? "",
      ip: ip ?? "",
      revokedAt: "",
      revokedReason: "",
      ...Object.fromEntries(Object.entries(originColumns(origin)).map(([name, value]) => [name, value ?? ""])),
      authTime: authTime ? ms(authTime) : "",
      amr: amr ?? "",
    };
    // A provider sign-in is also listed under its provider session and subject, in the same script, for back-channel logout.
    const provider = origin?.method === "oidc" ? origin : null;
    const providerKeys = provider
      ? [keys.providerSubject(provider.issuer, provider.subject), ...(provider.providerSessionId ? [keys.providerSession(provider.issuer, provider.providerSessionId)] : [])]
      : [];
    await runScript(
      INSERT,
      [keys.session(id), keys.token(tokenHash ?? ""), keys.userSessions(userId), keys.allSessions, ...providerKeys],
      [id, ms(expires), ms(now), tokenHash ?? "", ...Object.entries(fields).flat()],
    );
    const session = await stored(fields);
    if (!session) throw new Error("session user not found");
    return session;
  },

  async findByTokenHash(tokenHash) {
    return stored(fieldsOf(await runScript(BY_TOKEN, [keys.token(tokenHash)], [keys.sessionPrefix])));
  },

  async findById(id) {
    return stored(await sessionFields(id));
  },

  async activeExpiry(id, now) {
    const [revokedAt, expires] = await withRedis((client) => client.hmget(keys.session(id), "revokedAt", "expires"));
    if (!expires || optional(revokedAt ?? undefined) !== null) return null;
    const end = date(expires);
    return end > now ? end : null;
  },

  async activeUser(id, userId, now): Promise<SessionUser | null> {
    const [revokedAt, expires, owner] = await withRedis((client) => client.hmget(keys.session(id), "revokedAt", "expires", "userId"));
    if (!expires || owner !== userId || optional(revokedAt ?? undefined) !== null || date(expires) <= now) return null;
    return rememberedProfile(userId);
  },

  async recordActivity(id, expected, now) {
    await runScript(RECORD_ACTIVITY, [keys.session(id)], [ms(expected), ms(now)]);
  },

  async touch(id, now, notSince) {
    return (await runScript(TOUCH, [keys.session(id)], [ms(now), ms(notSince)])) === 1;
  },

  async recordAuthentication(id, authentication, now) {
    const { authTime, amr } = authenticationColumns(authentication);
    return (await runScript(RECORD_AUTHENTICATION, [keys.session(id)], [ms(authTime ?? now), amr ?? "", ms(now)])) === 1;
  },

  async findByProviderSession(match, now) {
    if (match.sid === null && match.subject === null) return [];
    const index = match.sid !== null ? keys.providerSession(match.issuer, match.sid) : keys.providerSubject(match.issuer, match.subject ?? "");
    const ids = await withRedis((client) => client.zrangebyscore(index, `(${now.getTime()}`, "+inf"));
    const found: string[] = [];
    for (const id of ids) {
      // The index only finds candidates: each session's own fields decide.
      const fields = await sessionFields(id);
      if (fields.id !== id || optional(fields.revokedAt) !== null || date(fields.expires) <= now) continue;
      const origin = originFromColumns({
        signInMethod: optional(fields.signInMethod),
        idpIssuer: optional(fields.idpIssuer),
        idpSubject: optional(fields.idpSubject),
        idpSessionId: optional(fields.idpSessionId),
      });
      if (originMatches(origin, match)) found.push(id);
    }
    return found;
  },

  async revoke(id, reason, now) {
    const notice: RevocationNotice = { sessionIds: [id] };
    const horizon = now.getTime() - revokedIdLifetimeMs();
    const revoked = await runScript(REVOKE, [keys.session(id), keys.revoked], [id, ms(now), reason, horizon, keys.channel, JSON.stringify(notice)]);
    if (revoked !== 1) return false;
    applyNotice(notice);
    return true;
  },

  async deleteById(id) {
    return deleteAndAnnounce(id, { sessionIds: [id] });
  },

  async deleteByTokenHash(tokenHash) {
    const id = await withRedis((client) => client.get(keys.token(tokenHash)));
    return id !== null && deleteAndAnnounce(id, { sessionIds: [id], tokenHashes: [tokenHash] });
  },

  async listActive(filter, now, idleRules) {
    let ids: string[];
    if (filter.id) ids = [filter.id];
    else {
      const set = filter.userId ? keys.userSessions(filter.userId) : keys.allSessions;
      ids = await withRedis((client) => client.zrangebyscore(set, `(${now.getTime()}`, "+inf"));
    }
    const replies = await withRedis((client) => {
      const pipeline = client.pipeline();
      for (const id of ids) pipeline.hgetall(keys.session(id));
      return pipeline.exec();
    });
    const sessions: ListedSession[] = [];
    for (const [index, id] of ids.entries()) {
      const [error, reply] = replies?.[index] ?? [null, null];
      if (error) throw error;
      const fields = (reply ?? {}) as Fields;
      const session = listed(fields);
      if (!session || session.id !== id) continue;
      if (filter.userId && session.userId !== filter.userId) continue;
      if (filter.exceptId && session.id === filter.exceptId) continue;
      if (optional(fields.revokedAt) !== null || session.expires <= now || isIdle(session, now, idleRules)) continue;
      sessions.push(session);
    }
    sessions.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return filter.take === undefined ? sessions : sessions.slice(0, filter.take);
  },

  async countActive(userIds, now, idleRules) {
    const counts = new Map<string, number>();
    for (const userId of userIds) {
      const count = (await this.listActive({ userId }, now, idleRules)).length;
      if (count > 0) counts.set(userId, count);
    }
    return counts;
  },

  async purgeExpired(_idleRules, now) {
    // Sessions themselves expire with their keys; what stays is their ids in the list of all sessions.
    return withRedis((client) => client.zremrangebyscore(keys.allSessions, "-inf", now.getTime()));
  },

  async createRefreshToken({ tokenHash, sessionId, createdAt, expiresAt }) {
    // Kept until the family could still be asked about it: past its own end, so that a late use reads as "expired".
    const keepUntil = expiresAt.getTime() + env.REFRESH_TOKEN_TTL_SECONDS * 1000;
    return (await runScript(CREATE_REFRESH, [keys.refreshToken(tokenHash)], [newId(), sessionId, ms(createdAt), ms(expiresAt), keepUntil])) === 1;
  },

  async findRefreshToken(tokenHash) {
    const fields = await withRedis((client) => client.hgetall(keys.refreshToken(tokenHash)));
    if (!fields.id || !fields.sessionId) return null;
    return { id: fields.id, sessionId: fields.sessionId, createdAt: date(fields.createdAt), expiresAt: date(fields.expiresAt), usedAt: optionalDate(fields.usedAt) };
  },

  async markRefreshTokenUsed(tokenHash, now) {
    await runScript(MARK_REFRESH_USED, [keys.refreshToken(tokenHash)], [ms(now)]);
  },
};
