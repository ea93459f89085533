import "./support/test-env";
import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import { after, before, test } from "node:test";
import { requestPasswordReset, resetPassword } from "../lib/account/recovery";
import { finishRegistration, startRegistration } from "../lib/account/registration";
import { caughtMail, startMailCatcher, stopMailCatcher } from "../lib/mail/catcher";
import { devMailboxAvailable, isLoopbackAddress, mailboxMessages } from "../lib/mail/dev-mailbox";
import { queueMail, queuedMailSettled, sendMail } from "../lib/mail/send";
import { db } from "../lib/platform/db";
import { env } from "../lib/platform/env";
import { auditEventsForUser } from "../lib/security/audit";
import { limitByAccount, tooManyAttemptsMessage } from "../lib/security/rate-limit";
import { isSessionActive } from "../lib/sessions/store";
import { issueTokenPair, refreshTokenPair } from "../lib/strategies/api";
import { createSession, findSession } from "../lib/strategies/database";
import { jwtStrategy } from "../lib/strategies/jwt";
import { browserKinds } from "../lib/strategies";
import { consumeOneTimeToken, createOneTimeToken, findUsableToken } from "../lib/tokens/one-time";
import { hashToken } from "../lib/tokens/opaque";
import { hashPassword, verifyPassword } from "../lib/users/password";
import { resolveBearer } from "./support/requests";

const PASSWORD = "Lantern-orbit-meadow-42";
const NEW_PASSWORD = "Quartz-harbor-willow-77";
const context = { userAgent: "recovery-test", ip: "127.0.0.1" };
const kind = browserKinds[0];

const uniqueEmail = (tag: string) => `${tag}-${crypto.randomUUID()}@example.test`;

async function existingUser(tag: string) {
  const email = uniqueEmail(tag);
  return db().user.create({ data: { email, name: `${tag} user`, passwordHash: await hashPassword(PASSWORD) } });
}

/** The newest caught mail to this address, once every queued mail has been handed over. */
async function lastMailTo(email: string) {
  await queuedMailSettled();
  const [mail] = await caughtMail({ to: email });
  assert.ok(mail, `a mail to ${email} was caught`);
  return mail;
}

/** The token of the (only) link with a `#token=` fragment in a mail's text. */
function tokenIn(text: string): string {
  const match = /#token=([A-Za-z0-9_-]+)/.exec(text);
  assert.ok(match, "the mail holds a link with the token in its fragment");
  return match[1]!;
}

/** One character changed, the shape kept. */
function tamper(token: string): string {
  const last = token.at(-1) === "A" ? "B" : "A";
  return token.slice(0, -1) + last;
}

before(async () => {
  assert.equal(env.SMTP_URL, undefined, "tests run with the in-process catcher");
  await startMailCatcher();
});
after(() => stopMailCatcher());

// ---- mail over real SMTP ----

test("a queued mail reaches the in-process catcher over SMTP, parsed, newest first", async () => {
  const catcher = await startMailCatcher();
  assert.ok(catcher && catcher.port > 0, "the catcher listens on a port");
  assert.deepEqual(await startMailCatcher(), catcher, "started once per process");
  const to = uniqueEmail("smtp");
  const long = `A line longer than seventy-six characters forces quoted-printable soft breaks: ${"x".repeat(120)} café`;
  queueMail({ to, subject: "First ✓", text: "one", purpose: "test" });
  assert.equal((await caughtMail({ to })).length, 0, "queueMail returns before anything is sent");
  await queuedMailSettled();
  queueMail({ to, subject: "Second", text: long, purpose: "test" });
  await queuedMailSettled();
  const caught = await caughtMail({ to: to.toUpperCase() });
  assert.deepEqual(
    caught.map((mail) => mail.subject),
    ["Second", "First ✓"],
  );
  assert.equal(caught[0]!.text, long);
  assert.deepEqual(caught[0]!.to, [to]);
  assert.match(caught[0]!.from, /^no-reply@localhost$/);
  const api = await mailboxMessages(to);
  assert.deepEqual(Object.keys(api[0]!).sort(), ["id", "sentAt", "subject", "text", "to"]);
  assert.equal(api[0]!.to, to);
});

test("after the catcher stops, the next send starts a new one", async () => {
  await stopMailCatcher();
  await sendMail({ to: uniqueEmail("restart"), subject: "after restart", text: "x", purpose: "test" });
  assert.equal((await caughtMail()).at(0)?.subject, "after restart");
});

test("the catcher undoes base64, quoted-printable and encoded words, and finds text/plain in multipart", async () => {
  const catcher = await startMailCatcher();
  assert.ok(catcher);
  const client = nodemailer.createTransport({ host: "127.0.0.1", port: catcher.port, secure: false, ignoreTLS: true });
  const sendRaw = async (to: string, raw: string) => client.sendMail({ envelope: { from: "raw@localhost", to: [to] }, raw });
  const multipart = uniqueEmail("multipart");
  await sendRaw(
    multipart,
    [
      "Subject: =?UTF-8?B?Q2Fmw6k=?= =?UTF-8?Q?_au_lait?=",
      'Content-Type: multipart/alternative; boundary="b1"',
      "",
      "--b1",
      "Content-Type: text/html",
      "",
      "<p>html</p>",
      "--b1",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from("plain ✓ text").toString("base64"),
      "--b1--",
      "",
    ].join("\r\n"),
  );
  const [caught] = await caughtMail({ to: multipart });
  assert.equal(caught?.subject, "Café au lait");
  assert.equal(caught?.text.trim(), "plain ✓ text");
  const quoted = uniqueEmail("quoted");
  await sendRaw(quoted, "Subject: x\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc\r\n");
  assert.equal((await caughtMail({ to: quoted }))[0]?.text.trim(), "a=bc");
  const garbage = uniqueEmail("garbage");
  await sendRaw(garbage, "garbage without headers\r\n");
  assert.equal((await caughtMail({ to: garbage })).length, 1, "an odd message is kept, not thrown on");
});


// ---- the development mailbox guard ----

test("the development mailbox is for loopback clients only, and only while the catcher is in use", () => {
  for (const ip of ["127.0.0.1", "127.8.9.10", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) assert.equal(isLoopbackAddress(ip), true, ip);
  for (const ip of [null, undefined, "", "10.0.0.1", "192.168.1.20", "203.0.113.7", "::", "::2", "fe80::1", "localhost", "128.0.0.1", "1.127.0.0"]) {
    assert.equal(isLoopbackAddress(ip), false, String(ip));
  }
  const from = (ip?: string) => new Headers(ip ? { "x-sot-client-ip": ip } : {});
  assert.equal(devMailboxAvailable(from("127.0.0.1")), true);
  assert.equal(devMailboxAvailable(from("203.0.113.7")), false, "non-loopback client: 404");
  assert.equal(devMailboxAvailable(from()), false, "unknown client address: 404");
  assert.equal(devMailboxAvailable(new Headers({ "x-forwarded-for": "127.0.0.1" })), false, "X-Forwarded-For is not believed");
  assert.equal(devMailboxAvailable(from("127.0.0.1"), false), false, "with SMTP_URL set there is no mailbox");
});

// ---- one-time tokens ----

test("one-time tokens are stored only as hashes, work once, expire, and refuse tampering", async () => {
  const email = uniqueEmail("token");
  const now = new Date();
  const token = await createOneTimeToken({ purpose: "register", email, payload: "{}", ttlSeconds: 60, now });
  assert.match(token, /^[A-Za-z0-9_-]{43}$/, "256 bits, base64url");
  const rows = await db().oneTimeToken.findMany({ where: { email } });
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.tokenHash, hashToken(token));
  assert.ok(!JSON.stringify(rows).includes(token), "the raw token is stored nowhere");

  assert.equal(await consumeOneTimeToken(tamper(token), "register", now), null, "tampered");
  assert.equal(await consumeOneTimeToken(token, "password_reset", now), null, "another purpose");
  assert.equal(await consumeOneTimeToken(`${token}x`, "register", now), null, "malformed");
  assert.equal(await consumeOneTimeToken(undefined, "register", now), null, "missing");
  assert.equal(await findUsableToken(token, "register", new Date(now.getTime() + 61_000)), null, "expired (look)");
  assert.equal(await consumeOneTimeToken(token, "register", new Date(now.getTime() + 61_000)), null, "expired (use)");

  const [first, second] = await Promise.all([consumeOneTimeToken(token, "register", now), consumeOneTimeToken(token, "register", now)]);
  assert.equal([first, second].filter(Boolean).length, 1, "of two concurrent uses exactly one wins");
  assert.equal(await consumeOneTimeToken(token, "register", now), null, "replayed");
});

// ---- registration ----

test("registration: a new and a taken address get the same result; only the new one can finish", async () => {
  const known = await existingUser("known");
  const unknownEmail = uniqueEmail("unknown");
  const forKnown = await startRegistration({ name: "Somebody", email: known.email, password: PASSWORD }, kind, context);
  const forUnknown = await startRegistration({ name: "Somebody", email: unknownEmail, password: PASSWORD }, kind, context);
  assert.deepEqual(forKnown, { status: "sent", email: known.email });
  assert.deepEqual(forUnknown, { status: "sent", email: unknownEmail });
  assert.deepEqual(Object.keys(forKnown), Object.keys(forUnknown));

  // Each wrote one token row; the taken address's is never usable, and holds no password hash.
  const knownRows = await db().oneTimeToken.findMany({ where: { email: known.email } });
  assert.deepEqual(knownRows.map((row) => [row.purpose, row.payload]), [["register.existing", null]]);
  const [pending] = await db().oneTimeToken.findMany({ where: { email: unknownEmail } });
  assert.equal(pending?.purpose, "register");
  const payload = JSON.parse(pending!.payload!) as { name: string; passwordHash: string; kind: string };
  assert.equal(payload.kind, kind);
  assert.ok(await verifyPassword(payload.passwordHash, PASSWORD), "argon2id hash of the chosen password, not the password");
  assert.ok(!pending!.payload!.includes(PASSWORD));
  assert.equal(await db().user.count({ where: { email: unknownEmail } }), 0, "no account before the link is used");

  // The taken address is told someone tried; the new one gets the link.
  const toKnown = await lastMailTo(known.email);
  assert.match(toKnown.text, /Someone tried to create an account with this address/);
  assert.ok(toKnown.text.includes(`${env.APP_URL}/forgot-password`));
  assert.doesNotMatch(toKnown.text, /#token=/);
  const toUnknown = await lastMailTo(unknownEmail);
  assert.ok(toUnknown.text.includes(`${env.APP_URL}/verify-email#token=`), "link built from APP_URL, token in the fragment");
  const token = tokenIn(toUnknown.text);

  assert.deepEqual(await finishRegistration(tamper(token), context), { ok: false, reason: "invalid_link" });
  const finished = await finishRegistration(token, context);
  assert.ok(finished.ok);
  assert.equal(finished.kind, kind);
  const user = await db().user.findUniqueOrThrow({ where: { email: unknownEmail } });
  assert.equal(user.name, "Somebody");
  assert.ok(user.emailVerified instanceof Date, "emailVerified is set");
  assert.ok(await verifyPassword(user.passwordHash!, PASSWORD));
  assert.ok((await auditEventsForUser(user.id)).some((event) => event.event === "register"));
  assert.deepEqual(await finishRegistration(token, context), { ok: false, reason: "invalid_link" }, "replayed");
});

test("registration: the second of two links for one new address finds it taken", async () => {
  const email = uniqueEmail("twice");
  await startRegistration({ name: "Twice", email, password: PASSWORD }, kind, context);
  const first = tokenIn((await lastMailTo(email)).text);
  await startRegistration({ name: "Twice", email, password: PASSWORD }, kind, context);
  const second = tokenIn((await lastMailTo(email)).text);
  assert.notEqual(first, second);
  assert.equal((await finishRegistration(second, context)).ok, true);
  assert.deepEqual(await finishRegistration(first, context), { ok: false, reason: "already_registered" });
  assert.equal(await db().user.count({ where: { email } }), 1);
});

test("registration and reset are limited per address, with the same message for known and unknown ones", async () => {
  const known = await existingUser("limited");
  const unknownEmail = uniqueEmail("limited-unknown");
  const now = new Date();
  for (const action of ["register", "reset"] as const) {
    const limit = action === "register" ? env.RATE_LIMIT_REGISTER_PER_ACCOUNT : env.RATE_LIMIT_RESET_PER_ACCOUNT;
    const messages: string[] = [];
    for (const email of [known.email, unknownEmail]) {
      for (let i = 0; i < limit; i += 1) assert.equal(await limitByAccount(action, email, context, now), null);
      const blocked = await limitByAccount(action, email.toUpperCase(), context, now);
      assert.equal(blocked?.scope, "account", `${action} over the limit for ${email}`);
      messages.push(tooManyAttemptsMessage(blocked!));
    }
    assert.equal(messages[0], messages[1]);
    assert.match(messages[0]!, /^Too many attempts\. Try again in \d+ minutes?\.$/);
  }
  // The flows return the block instead of doing the work.
  const blocked = await startRegistration({ name: "x", email: unknownEmail, password: PASSWORD }, kind, context, now);
  assert.equal(blocked.status, "blocked");
  assert.equal((await requestPasswordReset(known.email, context, now)).status, "blocked");
});

// ---- password reset ----

test("reset request: the same answer for known and unknown addresses; only the known one gets a link", async () => {
  const known = await existingUser("forgot");
  const unknownEmail = uniqueEmail("forgot-unknown");
  assert.deepEqual(await requestPasswordReset(known.email, context), { status: "sent", email: known.email });
  assert.deepEqual(await requestPasswordReset(unknownEmail, context), { status: "sent", email: unknownEmail });
  await queuedMailSettled();
  assert.equal((await caughtMail({ to: unknownEmail })).length, 0, "no mail to an unknown address");
  const rows = await db().oneTimeToken.findMany({ where: { email: unknownEmail } });
  assert.deepEqual(rows.map((row) => [row.purpose, row.userId]), [["password_reset.unknown", null]], "the same write, unusable");
  const mail = await lastMailTo(known.email);
  assert.ok(mail.text.includes(`${env.APP_URL}/reset-password#token=`));
});

test("reset revokes every session of the account: database, browser JWT and API token family; the link works once", async () => {
  const user = await existingUser("reset");
  const other = await existingUser("bystander");
  const database = await createSession(user.id, context);
  const jwt = await jwtStrategy.issue(user, context);
  const pair = await issueTokenPair(user, context);
  const theirs = await createSession(other.id, context);
  assert.ok(await jwtStrategy.verify(jwt.value), "the JWT works before the reset");
  assert.ok(await resolveBearer(`Bearer ${pair.access_token}`));

  await requestPasswordReset(user.email, context);
  const token = tokenIn((await lastMailTo(user.email)).text);

  // A password the policy refuses leaves the link usable.
  const weak = await resetPassword({ token, newPassword: "short", context });
  assert.equal(weak.ok, false);
  assert.equal(!weak.ok && weak.reason, "new_password");
  const containsAddress = await resetPassword({ token, newPassword: `${user.email.split("@")[0]}-long-enough`, context });
  assert.equal(!containsAddress.ok && containsAddress.reason, "new_password");
  assert.deepEqual(await resetPassword({ token: tamper(token), newPassword: NEW_PASSWORD, context }), { ok: false, reason: "invalid_link" });

  assert.deepEqual(await resetPassword({ token, newPassword: NEW_PASSWORD, context }), { ok: true, revokedSessions: 3 });
  const stored = await db().user.findUniqueOrThrow({ where: { id: user.id } });
  assert.ok(await verifyPassword(stored.passwordHash!, NEW_PASSWORD), "new argon2id hash stored");
  assert.ok(stored.passwordHash!.startsWith("$argon2id$"));
  assert.equal(await verifyPassword(stored.passwordHash!, PASSWORD), false);

  assert.equal(await findSession(database.token), null, "database session refused at once");
  assert.equal(await jwtStrategy.verify(jwt.value), null, "browser JWT refused (strict revocation mode)");
  assert.equal(await resolveBearer(`Bearer ${pair.access_token}`), null, "access token refused");
  assert.deepEqual(await refreshTokenPair(pair.refresh_token), { ok: false, reason: "revoked" }, "refresh token refused");
  assert.ok(await findSession(theirs.token), "another user's session is untouched");
  assert.equal(await isSessionActive(theirs.session.id), true);

  const events = await auditEventsForUser(user.id);
  const reset = events.find((event) => event.event === "password.reset");
  assert.ok(reset, "password.reset audited");
  const detail = JSON.parse(reset.detail ?? "{}") as { revokedSessions: number; kinds: string };
  assert.equal(detail.revokedSessions, 3);
  assert.deepEqual(detail.kinds.split(",").sort(), ["api:1", "database:1", "jwt:1"]);
  assert.ok(!reset.detail!.includes(token));

  assert.deepEqual(await resetPassword({ token, newPassword: "Another-fine-pass-99", context }), { ok: false, reason: "invalid_link" }, "replayed");
});

test("an expired reset link is refused, and a new reset link kills older ones", async () => {
  const user = await existingUser("expiry");
  const issuedAt = new Date(Date.now() - (env.PASSWORD_RESET_TTL_SECONDS + 5) * 1000);
  await requestPasswordReset(user.email, context, issuedAt);
  const expired = tokenIn((await lastMailTo(user.email)).text);
  assert.deepEqual(await resetPassword({ token: expired, newPassword: NEW_PASSWORD, context }), { ok: false, reason: "invalid_link" });

  await requestPasswordReset(user.email, context);
  const older = tokenIn((await lastMailTo(user.email)).text);
  await requestPasswordReset(user.email, context);
  const newer = tokenIn((await lastMailTo(user.email)).text);
  assert.equal((await resetPassword({ token: newer, newPassword: NEW_PASSWORD, context })).ok, true);
  assert.deepEqual(await resetPassword({ token: older, newPassword: "Another-fine-pass-99", context }), { ok: false, reason: "invalid_link" });
});
