import "./support/key-store-mode";
import { testDir } from "./support/test-env";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { SignJWT, decodeProtectedHeader } from "jose";
import { db } from "../lib/platform/db";
import { env } from "../lib/platform/env";
import { ConfigurationError } from "../lib/platform/errors";
import { createKeyFileContent, keyFilePath, writeKeyFile } from "../lib/tokens/key-set";
import { initKeyStore, loadStoredKeySet, rotateStoredKeys } from "../lib/tokens/key-store";
import { forgetKeyRing, keyRing, newKeyRingHolder, publicJwks, type KeyRing } from "../lib/tokens/keys";
import { BROWSER_AUDIENCE, signAccessToken, verifyAccessToken, verifyBrowserJwt } from "../lib/tokens/jwt";

const root = resolve(import.meta.dirname, "..");
const user = { id: "user-ks", email: "ks@example.com", name: "KS" };
const otherKey = () => randomBytes(32).toString("base64url");
const refusedFor = (pattern: RegExp) => (error: unknown) => error instanceof ConfigurationError && pattern.test(error.message);

/** A browser JWT signed the way another instance would: with the signing key of its own ring. */
async function signOn(ring: KeyRing): Promise<string> {
  const signing = ring.signingKey();
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: "sid-ks" })
    .setProtectedHeader({ alg: "EdDSA", kid: signing.kid, typ: "JWT" })
    .setIssuer(env.JWT_ISSUER)
    .setAudience(BROWSER_AUDIENCE)
    .setSubject(user.id)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 600)
    .sign(signing.privateKey);
}

function keysScript(args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, [join(root, "node_modules/tsx/dist/cli.mjs"), "--conditions=react-server", "scripts/keys.ts", ...args], {
    cwd: root,
    env: { ...process.env, ...extraEnv },
    encoding: "utf8",
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

// Runs first, on a store emptied again: test-env's `keys:init` already filled it.
test("an existing key file is imported once into an empty store; later files are not", async () => {
  await db().signingKey.deleteMany();
  await db().serverSecret.deleteMany();
  const file = await createKeyFileContent();
  writeKeyFile(file);

  const [first, second] = await Promise.all([initKeyStore(), initKeyStore()]);
  assert.deepEqual([first.outcome, second.outcome].sort(), ["existing", "imported"], "two instances starting at once: one imports");
  const stored = await loadStoredKeySet();
  assert.equal(stored.authSecret, file.authSecret);
  assert.deepEqual(stored.keys, file.keys.map((key) => ({ ...key, activatesAt: key.activatesAt ?? key.createdAt })));
  assert.equal(await db().serverSecret.count(), 1);

  writeKeyFile(await createKeyFileContent());
  assert.deepEqual(await initKeyStore(), { outcome: "existing" });
  assert.deepEqual((await loadStoredKeySet()).keys.map((key) => key.kid), file.keys.map((key) => key.kid));
  rmSync(keyFilePath());

  forgetKeyRing();
  const ring = await keyRing();
  assert.equal(ring.authSecret, file.authSecret, "the running server's secret is the imported one");
  assert.equal(ring.signingKey().kid, file.keys[0]?.kid);
});

test("at rest the table holds the private key only sealed, and the server signs with it", async () => {
  const opened = await loadStoredKeySet();
  const rows = await db().signingKey.findMany();
  assert.ok(rows.length >= 1);
  for (const row of rows) {
    const key = opened.keys.find((candidate) => candidate.kid === row.kid);
    assert.ok(key);
    assert.match(row.sealedPrivateJwk, /^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    assert.equal(row.sealedPrivateJwk.includes(key.privateJwk.d), false, "the private scalar is not in the row");
    assert.equal(row.sealedPrivateJwk.includes(Buffer.from(JSON.stringify(key.privateJwk)).toString("base64url").slice(0, 20)), false);
    assert.equal(JSON.stringify(row).includes(key.privateJwk.d), false);
    assert.deepEqual(JSON.parse(row.publicJwk), key.publicJwk);
  }
  const secret = await db().serverSecret.findUniqueOrThrow({ where: { name: "auth" } });
  assert.equal(secret.sealed.includes(opened.authSecret), false);
  assert.equal(existsSync(keyFilePath()), false, "no key file involved");

  const { token } = await signAccessToken(user, "sid-ks");
  assert.ok(await verifyAccessToken(token));
  assert.ok(opened.keys.some((key) => key.kid === decodeProtectedHeader(token).kid));
});

test("a wrong KEYS_ENCRYPTION_KEY is refused at load, and a rotation with it writes nothing", async () => {
  await assert.rejects(loadStoredKeySet({ encryptionKey: otherKey() }), refusedFor(/KEYS_ENCRYPTION_KEY does not open/));
  const before = await db().signingKey.count();
  await assert.rejects(rotateStoredKeys({ encryptionKey: otherKey(), immediately: true }), refusedFor(/KEYS_ENCRYPTION_KEY does not open/));
  assert.equal(await db().signingKey.count(), before);

  const rotate = keysScript(["rotate"], { KEYS_ENCRYPTION_KEY: otherKey() });
  assert.equal(rotate.status, 1);
  assert.match(rotate.stderr, /KEYS_ENCRYPTION_KEY does not open/);
  assert.equal(await db().signingKey.count(), before);
});

test("a server with the wrong KEYS_ENCRYPTION_KEY does not start, and says why", () => {
  const probe = join(testDir, "start.mts");
  writeFileSync(probe, `const { checkConfiguration } = await import(${JSON.stringify(join(root, "lib/startup.ts"))});\nawait checkConfiguration();\nconsole.log("started");\nprocess.exit(0);\n`);
  const run = (key: string) =>
    spawnSync(process.execPath, [join(root, "node_modules/tsx/dist/cli.mjs"), "--conditions=react-server", probe], {
      cwd: root,
      env: { ...process.env, KEYS_ENCRYPTION_KEY: key },
      encoding: "utf8",
    });
  const wrong = run(otherKey());
  assert.equal(wrong.status, 1, wrong.stdout + wrong.stderr);
  assert.match(wrong.stderr, /Cannot start: KEYS_ENCRYPTION_KEY does not open/);
  assert.equal(wrong.stderr.includes(env.KEYS_ENCRYPTION_KEY ?? "-"), false, "the key is never printed");
  const right = run(env.KEYS_ENCRYPTION_KEY ?? "");
  assert.equal(right.status, 0, right.stderr);
  assert.match(right.stdout, /started/);
});

test("an altered row is refused at load; a running ring keeps the keys it has", async () => {
  await rotateStoredKeys({ immediately: true });
  const running = newKeyRingHolder();
  const ring = await running.current();
  running.stop();
  const [first, second] = await db().signingKey.findMany({ orderBy: { activatesAt: "asc" }, take: 2 });
  assert.ok(first && second);

  const parts = first.sealedPrivateJwk.split(".");
  const ciphertext = parts[2] ?? "";
  const flipped = `${ciphertext[0] === "A" ? "B" : "A"}${ciphertext.slice(1)}`;
  const cases: [string, Record<string, string>, RegExp][] = [
    ["a flipped ciphertext byte", { sealedPrivateJwk: [parts[0], parts[1], flipped, parts[3]].join(".") }, new RegExp(`does not open signing key ${first.kid}`)],
    ["another key's sealed private key (the kid is the associated data)", { sealedPrivateJwk: second.sealedPrivateJwk }, new RegExp(`does not open signing key ${first.kid}`)],
    ["another key's public half", { publicJwk: second.publicJwk }, new RegExp(`public half of signing key ${first.kid}`)],
    ["not the sealed format", { sealedPrivateJwk: "{}" }, /not in the sealed format/],
  ];
  for (const [what, change, message] of cases) {
    await db().signingKey.update({ where: { kid: first.kid }, data: change });
    await assert.rejects(loadStoredKeySet(), refusedFor(message), what);
    await running.check();
    assert.equal(await running.current(), ring, `${what}: the running ring is kept`);
    await db().signingKey.update({ where: { kid: first.kid }, data: { sealedPrivateJwk: first.sealedPrivateJwk, publicJwk: first.publicJwk } });
  }
  await loadStoredKeySet();
});

test("a rotation on one instance is seen by another at its next check, and tokens verify across", async () => {
  const a = newKeyRingHolder();
  const b = newKeyRingHolder();
  const ringB = await b.current();
  await a.current();
  for (const holder of [a, b]) holder.stop(); // checked by hand below, not by the timer

  const { added } = await rotateStoredKeys();
  assert.equal((await b.current()).byKid.has(added.kid), false, "not before a check");
  await b.check();
  const seen = await b.current();
  assert.notEqual(seen, ringB);
  assert.ok(seen.byKid.has(added.kid), "published after the check");
  assert.notEqual(seen.signingKey().kid, added.kid, "but not signing before the JWKS cache lifetime");
  assert.equal(seen.signingKey(new Date(Date.parse(added.activatesAt ?? "") + 1000)).kid, added.kid);

  // Signed on A with a key rotated in at once: B has not checked, yet verifies it.
  const now = await rotateStoredKeys({ immediately: true });
  await a.check();
  const token = await signOn(await a.current());
  assert.equal(decodeProtectedHeader(token).kid, now.added.kid);
  assert.equal((await b.current()).byKid.has(now.added.kid), false);
  assert.ok((await b.knowing(now.added.kid)).byKid.has(now.added.kid), "an unknown kid makes B ask the store");

  // Rate-bounded: another unknown kid right after does not ask again.
  const later = await rotateStoredKeys({ immediately: true });
  assert.equal((await b.knowing("made-up-kid")).byKid.has(later.added.kid), false);
});

test("the app's verifier accepts a token another instance signed with a key rotated in a moment ago", async () => {
  await keyRing();
  const { added } = await rotateStoredKeys({ immediately: true });
  const other = newKeyRingHolder();
  const token = await signOn(await other.current());
  other.stop();
  assert.equal(decodeProtectedHeader(token).kid, added.kid);
  const verified = await verifyBrowserJwt(token);
  assert.equal(verified?.claims.sub, user.id);
});

test("`npm run keys:rotate` against the database reaches the running server within seconds", async () => {
  const before = (await publicJwks()).keys.map((key) => key.kid);
  const rotate = keysScript(["rotate"]);
  assert.equal(rotate.status, 0, rotate.stderr);
  const added = /added (\S+);/.exec(rotate.stdout)?.[1];
  assert.ok(added, rotate.stdout);
  assert.equal(before.includes(added), false);
  // The timer's next check (every 5 s), not a restart and not a request with that kid.
  await until("the new kid in the JWKS", async () => ((await publicJwks()).keys.some((key) => key.kid === added) ? true : undefined));
  assert.notEqual((await keyRing()).signingKey().kid, added, "published now, signs after the JWKS cache lifetime");
  assert.equal(existsSync(keyFilePath()), false);
});
