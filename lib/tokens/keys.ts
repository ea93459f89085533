import "server-only";
import { statSync } from "node:fs";
import { importJWK, type JWK } from "jose";
import { env } from "../platform/env";
import { ConfigurationError } from "../platform/errors";
import { log } from "../platform/log";
import { SIGNING_ALG, keyFilePath, readKeyFile, type KeyFileContent, type StoredSigningKey } from "./key-set";
import { KEY_STORE_WHERE, initKeyStore, keyStoreEnabled, loadStoredKeySet, storedKeySetVersion } from "./key-store";

export {
  KID_LENGTH,
  SIGNING_ALG,
  createKeyFileContent,
  keyFilePath,
  newSigningKey,
  readKeyFile,
  rotateKeys,
  writeKeyFile,
  type KeyFileContent,
  type StoredSigningKey,
} from "./key-set";

/**
 * The signing keys a running server holds. They come from one of two stores:
 * - KEYS_ENCRYPTION_KEY unset: a JSON file (KEYS_FILE), for one machine. The
 *   file is written by `npm run keys:init` (part of `npm start`) and
 *   `npm run keys:rotate`, never at boot.
 * - KEYS_ENCRYPTION_KEY set: the database (key-store.ts), for instances that
 *   share no disk. An empty store is filled at first start (from KEYS_FILE when
 *   it exists).
 * Either way every instance re-reads the store every few seconds, so a key
 * rotated anywhere is published and verified everywhere without a restart.
 */
export interface LoadedKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK & { kid: string; alg: string; use: "sig" };
}

export interface KeyRing {
  authSecret: string;
  /** The key that signs at `now`: the newest one already active. */
  signingKey(now?: Date): LoadedKey;
  /** Every key that still verifies (and is published), by kid. */
  byKid: ReadonlyMap<string, LoadedKey>;
  /** When the next key retires: the ring must be rebuilt then. */
  reloadAt: number;
}

/** Where the key set comes from, and how to tell cheaply that it changed. */
interface KeySource {
  where: string;
  /** Changes whenever the key set does. */
  version(): Promise<string>;
  /** The whole set; the first load of the process may also fill an empty store. */
  load(first: boolean): Promise<KeyFileContent>;
}

const fileSource: KeySource = {
  get where() {
    return `key file ${keyFilePath()}`;
  },
  async version() {
    try {
      return String(statSync(/*turbopackIgnore: true*/ keyFilePath()).mtimeMs);
    } catch {
      return "missing";
    }
  },
  async load() {
    return readKeyFile();
  },
};

const databaseSource: KeySource = {
  where: KEY_STORE_WHERE,
  version: storedKeySetVersion,
  async load(first) {
    if (first) {
      const init = await initKeyStore();
      if (init.outcome === "imported") {
        log.info("keys.imported", { from: init.from, kids: init.kids, note: "the key file is no longer read; the database holds the keys" });
      } else if (init.outcome === "created") {
        log.info("keys.created", { kids: init.kids });
      }
    }
    return loadStoredKeySet();
  },
};

function keySource(): KeySource {
  return keyStoreEnabled() ? databaseSource : fileSource;
}

function isUsable(key: StoredSigningKey, now: Date): boolean {
  return key.retiredAt === null || new Date(key.retiredAt) > now;
}

function activation(key: StoredSigningKey): number {
  return new Date(key.activatesAt ?? key.createdAt).getTime();
}

async function buildKeyRing(content: KeyFileContent, where: string): Promise<KeyRing> {
  const usable = content.keys.filter((key) => isUsable(key, new Date()));
  const loaded = await Promise.all(
    usable.map(async (key): Promise<LoadedKey> => {
      const [privateKey, publicKey] = await Promise.all([
        importJWK(key.privateJwk, SIGNING_ALG),
        importJWK(key.publicJwk, SIGNING_ALG),
      ]);
      if (!(privateKey instanceof CryptoKey) || !(publicKey instanceof CryptoKey)) {
        throw new ConfigurationError(`Signing key ${key.kid} could not be imported.`);
      }
      return { kid: key.kid, privateKey, publicKey, publicJwk: { ...key.publicJwk, kid: key.kid, alg: SIGNING_ALG, use: "sig" } };
    }),
  );
  const byKid = new Map(loaded.map((key) => [key.kid, key]));
  // Newest activation first.
  const bySigningOrder = [...usable].sort((a, b) => activation(b) - activation(a));
  if (!bySigningOrder.some((key) => activation(key) <= Date.now())) {
    throw new ConfigurationError(`Signing keys in ${where}: no active key. Run \`npm run keys:rotate -- --now\`.`);
  }
  const retirements = usable.flatMap((key) => (key.retiredAt ? [new Date(key.retiredAt).getTime()] : []));
  return {
    authSecret: env.AUTH_SECRET ?? content.authSecret,
    byKid,
    reloadAt: Math.min(Infinity, ...retirements),
    signingKey(now = new Date()) {
      const stored = bySigningOrder.find((key) => activation(key) <= now.getTime() && isUsable(key, now)) ?? bySigningOrder.at(-1);
      const key = stored && byKid.get(stored.kid);
      if (!key) throw new ConfigurationError("no signing key");
      return key;
    },
  };
}

/** How often every instance asks its store whether the key set changed. */
export const RELOAD_CHECK_MS = 5000;
/** At most one extra check per this interval for tokens naming a kid this instance does not know. */
const UNKNOWN_KID_CHECK_MS = 1000;

/**
 * One process's view of a key store. The first load is awaited (start-up
 * waits for it, and refuses to start when it fails); after that a timer
 * re-checks the store every RELOAD_CHECK_MS, off the request path, and swaps
 * in a new ring when the set changed or a key's retirement came. A failed
 * reload keeps the ring the process has: the keys it holds stay right, and a
 * broken store is logged, never turned into failed requests.
 */
export class KeyRingHolder {
  private ring: Promise<KeyRing> | undefined;
  private version = "";
  private reloadAt = Infinity;
  private checking: Promise<void> | undefined;
  private failing: string | undefined;
  private unknownKidCheckedAt = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly source: KeySource) {}

  current(): Promise<KeyRing> {
    if (this.ring) return this.ring;
    const loading = this.firstLoad();
    this.ring = loading;
    // A failed first load is not kept: the next call tries again (a fixed file, a database back up).
    loading.catch(() => {
      if (this.ring === loading) this.ring = undefined;
    });
    return loading;
  }

  private async firstLoad(): Promise<KeyRing> {
    const version = await this.source.version();
    const ring = await buildKeyRing(await this.source.load(true), this.source.where);
    this.version = version;
    this.reloadAt = ring.reloadAt;
    this.timer ??= setInterval(() => void this.check(), RELOAD_CHECK_MS);
    // Never what keeps a process (a script, a test run) alive.
    this.timer.unref();
    return ring;
  }

  /** Asks the store whether the set changed, and reloads if so; concurrent callers share one check. */
  check(): Promise<void> {
    if (!this.ring) return Promise.resolve();
    this.checking ??= this.reloadIfChanged().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async reloadIfChanged(): Promise<void> {
    let version = "";
    try {
      version = await this.source.version();
      const due = Date.now() >= this.reloadAt;
      if (version === this.version && !due) return this.recovered();
      // A set that failed to load is tried again only once it changes (or a retirement comes), not every tick.
      if (version === this.failing && !due) return;
      const ring = await buildKeyRing(await this.source.load(false), this.source.where);
      const before = this.ring ? [...(await this.ring).byKid.keys()] : [];
      this.ring = Promise.resolve(ring);
      this.version = version;
      this.reloadAt = ring.reloadAt;
      this.recovered();
      log.info("keys.reloaded", { from: this.source.where, kids: [...ring.byKid.keys()], before, signing: ring.signingKey().kid });
    } catch (error) {
      if (this.failing === version) return;
      this.failing = version;
      // Our own errors name the problem; anything else (the driver's) by its name and code only.
      const reason = error instanceof ConfigurationError ? error.message : `${error instanceof Error ? error.name : "error"}${codeOf(error)}`;
      log.error("keys.reload_failed", { from: this.source.where, reason, note: "keeping the keys loaded before" });
    }
  }

  private recovered(): void {
    if (this.failing === undefined) return;
    this.failing = undefined;
    log.info("keys.reload_recovered", { from: this.source.where });
  }

  /**
   * The ring, re-checked first when it does not know `kid`: a token signed by
   * another instance with a key rotated in a moment ago verifies here without
   * waiting for the timer. At most one such check per UNKNOWN_KID_CHECK_MS,
   * so tokens with made-up kids cannot turn into a query each.
   */
  async knowing(kid: string): Promise<KeyRing> {
    const ring = await this.current();
    if (ring.byKid.has(kid)) return ring;
    const now = Date.now();
    if (this.checking === undefined && now - this.unknownKidCheckedAt < UNKNOWN_KID_CHECK_MS) return ring;
    this.unknownKidCheckedAt = now;
    await this.check();
    return this.current();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function codeOf(error: unknown): string {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? ` ${error.code}` : "";
}

/** A holder on the key store this configuration selects (tests: a second "instance" in the same process). */
export function newKeyRingHolder(): KeyRingHolder {
  return new KeyRingHolder(keySource());
}

// One holder per process, shared by the proxy and the app bundles (Next.js
// bundles them separately, so module scope would give each its own).
const globalKey = Symbol.for("session-or-token.keyring");
type GlobalWithKeys = typeof globalThis & { [globalKey]?: KeyRingHolder };

function holder(): KeyRingHolder {
  const global = globalThis as GlobalWithKeys;
  return (global[globalKey] ??= newKeyRingHolder());
}

export function keyRing(): Promise<KeyRing> {
  return holder().current();
}

/** The ring, re-checked against the store (rate-bounded) when it does not know this kid. */
export function keyRingKnowing(kid: string): Promise<KeyRing> {
  return holder().knowing(kid);
}

/** Forgets the loaded ring, as a restart would. */
export function forgetKeyRing(): void {
  const global = globalThis as GlobalWithKeys;
  global[globalKey]?.stop();
  delete global[globalKey];
}

export async function publicJwks(): Promise<{ keys: LoadedKey["publicJwk"][] }> {
  const ring = await keyRing();
  return { keys: [...ring.byKid.values()].map((key) => key.publicJwk) };
}
