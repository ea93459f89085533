import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeJwt } from "jose";
import { db } from "../lib/platform/db";
import { env } from "../lib/platform/env";
import { createSession, findSession } from "../lib/strategies/database";
import { purgeExpiredSessions } from "../lib/sessions/store";
import { idleRules } from "../lib/strategies";
import { jwtStrategy } from "../lib/strategies/jwt";

const context = { userAgent: "node-test", ip: "127.0.0.1" };
const minutes = (n: number) => n * 60_000;

async function newUser() {
  return db().user.create({ data: { email: `timeouts-${crypto.randomUUID()}@example.com`, name: "Timeouts" } });
}

// ASVS 5.0 7.3.1 (inactivity timeout) and 7.3.2 (absolute maximum session lifetime).
test("database session: idle timeout ends it; activity slides it; the absolute lifetime is never passed", async () => {
  const user = await newUser();
  const start = new Date("2031-01-01T00:00:00Z");
  const idle = env.SESSION_IDLE_TIMEOUT_SECONDS * 1000;

  const idleOne = await createSession(user.id, context, start);
  assert.equal(await findSession(idleOne.token, new Date(start.getTime() + idle + 1000)), null, "idle too long");
  assert.equal(await db().session.count({ where: { id: idleOne.session.id } }), 0, "and its row is gone");

  const busy = await createSession(user.id, context, start);
  // Activity every 2/3 of the idle timeout keeps it alive well past one idle period…
  let now = start.getTime();
  for (let step = 0; step < 4; step += 1) {
    now += (idle * 2) / 3;
    assert.ok(await findSession(busy.token, new Date(now)), `still alive at step ${step}`);
  }
  // …but not past the absolute lifetime, however active.
  const absoluteEnd = busy.session.expires.getTime();
  await db().session.update({ where: { id: busy.session.id }, data: { lastSeenAt: new Date(absoluteEnd - 1000) } });
  assert.equal(await findSession(busy.token, new Date(absoluteEnd + 1000)), null);
});

test("database session: last seen is written at most once per touch interval (sliding renewal cost)", async () => {
  const user = await newUser();
  const start = new Date("2031-02-01T00:00:00Z");
  const { token, session } = await createSession(user.id, context, start);
  for (let second = 1; second < env.SESSION_TOUCH_SECONDS; second += 10) {
    await findSession(token, new Date(start.getTime() + second * 1000));
  }
  const row = await db().session.findUniqueOrThrow({ where: { id: session.id } });
  assert.equal(row.lastSeenAt.getTime(), start.getTime());
});

test("JWT session: renewed once past half its life, capped by the absolute lifetime, one writer at a time", async () => {
  const user = await newUser();
  const issued = await jwtStrategy.issue(user, context);
  const verified = await jwtStrategy.verify(issued.value);
  assert.ok(verified?.sessionId);
  assert.equal(await jwtStrategy.renew?.(verified), null, "fresh token: nothing to do");

  // A token with 10 minutes left of an hour is due; the record's lastSeenAt is old enough.
  const sid = verified.sessionId;
  await db().session.update({ where: { id: sid }, data: { lastSeenAt: new Date(Date.now() - minutes(50)) } });
  const due = { ...verified, expires: new Date(Date.now() + minutes(10)) };
  const renewed = await jwtStrategy.renew?.(due);
  assert.ok(renewed, "renewed");
  assert.ok(renewed.expires > due.expires);
  assert.equal(decodeJwt(renewed.value).sid, sid, "same session");
  assert.ok((await jwtStrategy.verify(renewed.value)) !== null);
  assert.equal(await jwtStrategy.renew?.(due), null, "a concurrent second renewal does not write or sign again");

  // Near the absolute end, the new token ends with the session.
  const sessionEnds = new Date(Date.now() + minutes(20));
  await db().session.update({ where: { id: sid }, data: { expires: sessionEnds, lastSeenAt: new Date(Date.now() - minutes(50)) } });
  const capped = await jwtStrategy.renew?.(due);
  assert.ok(capped);
  assert.ok(Math.abs(capped.expires.getTime() - sessionEnds.getTime()) < 1000, "capped at the absolute lifetime");
});

test("expired rows are cleaned up: past the absolute lifetime, or database sessions idle too long", async () => {
  const user = await newUser();
  const now = new Date();
  const live = await createSession(user.id, context, now);
  const idle = await createSession(user.id, context, new Date(now.getTime() - env.SESSION_IDLE_TIMEOUT_SECONDS * 1000 - 5000));
  await purgeExpiredSessions(idleRules(), now);
  assert.equal(await db().session.count({ where: { id: live.session.id } }), 1);
  assert.equal(await db().session.count({ where: { id: idle.session.id } }), 0);
});
