import "server-only";
import http from "node:http";
import { SignJWT, decodeJwt, generateKeyPair, jwtVerify, type JWTPayload } from "jose";
import { browserStrategies, cookieNameFor, strategies } from "../strategies";
import { issueTokenPair } from "../strategies/api";
import { median, send } from "./loopback";
import { withThrowawayAccount } from "./throwaway";
import type { ClaimResult, Experiment, LabRun } from "./types";
import { BROWSER_COOKIE_LIMIT, browserKeeps, formatMs, growthVerdict, lightweightVerdict, type SizeRow } from "./verdicts";

/**
 * "A JWT with a lot of data slows requests; a session id is lightweight."
 * Real cookies issued by this server for a throwaway account, then the JWT's
 * own claims plus growing extra claims, re-signed with a key generated for
 * this run (never the server's signing key: such tokens must not be valid
 * anywhere), each sent as a cookie over loopback HTTP to GET /api/ping, the
 * bench's bare route, a fixed number of times on one kept-alive connection.
 * Last, one cookie bigger than Node's header limit, to show the 431.
 */

const ROUTE = "/api/ping";
/** Requests per variant: enough for a stable median on a busy machine, few enough for a button press. */
export const REQUESTS_PER_VARIANT = 150;
const WARM_UP_REQUESTS = 15;
const VERIFY_ROUNDS = 100;
/** Extra claims, in bytes: 0.5, 2, 4 and 8 KB. */
export const EXTRA_CLAIM_SIZES = [512, 2048, 4096, 8192] as const;

/** Extra claims of about `bytes` bytes of JSON, shaped like what gets stuffed into tokens: permissions. */
function extraClaims(bytes: number): { perms: string[] } {
  const perms: string[] = [];
  let size = 2;
  for (let index = 0; size < bytes; index += 1) {
    const entry = `doc:${String(index).padStart(6, "0")}:read`;
    perms.push(entry);
    size += entry.length + 3;
  }
  return { perms };
}

async function timeRequests(lab: LabRun, headers: Record<string, string>): Promise<{ p50Ms: number; requestsPerSecond: number; status: number | null }> {
  // One connection, kept alive and reused: what a browser does, and the lab then measures requests, not handshakes.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let index = 0; index < WARM_UP_REQUESTS; index += 1) await send(lab.origin, ROUTE, { headers, agent });
    const latencies: number[] = [];
    let status: number | null = null;
    const started = performance.now();
    for (let index = 0; index < REQUESTS_PER_VARIANT; index += 1) {
      const before = performance.now();
      status = (await send(lab.origin, ROUTE, { headers, agent })).status;
      latencies.push(performance.now() - before);
    }
    const seconds = (performance.now() - started) / 1000;
    return { p50Ms: median(latencies), requestsPerSecond: REQUESTS_PER_VARIANT / seconds, status };
  } finally {
    agent.destroy();
  }
}

async function verifyMicros(token: string, key: CryptoKey): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < VERIFY_ROUNDS; index += 1) {
    const before = performance.now();
    await jwtVerify(token, key, { algorithms: ["EdDSA"] });
    times.push((performance.now() - before) * 1000);
  }
  return median(times);
}

export const sizeExperiment = {
  id: "size",
  title: "Size on the wire",
  summary: "A JWT with a lot of data slows requests; a session id is lightweight.",

  async run(lab: LabRun): Promise<ClaimResult[]> {
    const headerLimit = http.maxHeaderSize;
    return withThrowawayAccount(async (account) => {
      lab.progress("Created a throwaway account; issuing a real cookie of each kind");
      const issued: { row: SizeRow; cookie: string; value: string; tone: "session" | "token" }[] = [];
      for (const strategy of browserStrategies(strategies)) {
        const credential = await account.signIn(strategy, lab.context);
        // The size the visitor's browser would send (https adds the __Host- prefix); loopback uses the plain name.
        const sent = `${cookieNameFor(strategy, lab.https)}=${credential.value}`;
        const signed = decodeJwtOrNull(credential.value) !== null;
        issued.push({
          row: { key: strategy.kind, label: strategy.label, extraBytes: 0, cookieBytes: Buffer.byteLength(sent), p50Ms: null, requestsPerSecond: null, status: null },
          cookie: `${cookieNameFor(strategy, false)}=${credential.value}`,
          value: credential.value,
          tone: signed ? ("token" as const) : ("session" as const),
        });
      }
      const pair = await issueTokenPair(account.user, lab.context);
      await account.track(pair.access_token);
      const bearerBytes = Buffer.byteLength(`Authorization: Bearer ${pair.access_token}`);

      lab.progress(`Timing ${REQUESTS_PER_VARIANT} requests to ${ROUTE} with each real cookie`);
      const none = await timeRequests(lab, {});
      for (const entry of issued) Object.assign(entry.row, await timeRequests(lab, { cookie: entry.cookie }));

      const session = issued.find((entry) => entry.tone === "session");
      const token = issued.find((entry) => entry.tone === "token");
      const claims: ClaimResult[] = [];
      if (session && token) claims.push(lightweightClaim(session.row, token.row, bearerBytes, none.p50Ms));

      if (token) {
        const base = decodeJwt(token.value);
        const cookieName = token.cookie.slice(0, token.cookie.indexOf("="));
        // The bytes of "name=" on the visitor's connection (the __Host- prefix over https), as the real cookie has them.
        const prefix = token.row.cookieBytes - Buffer.byteLength(token.value);
        lab.progress("Generating a throwaway signing key (the server's key is never used)");
        const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
        const sign = (extra: number) => signPadded(base, extra, privateKey);
        const rows: SizeRow[] = [{ ...token.row, key: `${token.row.key}-0`, label: `${token.row.label} as issued` }];
        const verify: number[] = [await verifyMicros(await sign(0), publicKey)];
        for (const extra of EXTRA_CLAIM_SIZES) {
          const padded = await sign(extra);
          lab.progress(`Timing ${REQUESTS_PER_VARIANT} requests with ${extra / 1024} KB of extra claims`);
          const timed = await timeRequests(lab, { cookie: `${cookieName}=${padded}` });
          verify.push(await verifyMicros(padded, publicKey));
          rows.push({ key: `${token.row.key}-${extra}`, label: `${token.row.label} + ${extra / 1024} KB claims`, extraBytes: extra, cookieBytes: prefix + Buffer.byteLength(padded), ...timed });
        }
        lab.progress(`Sending one cookie over this server's ${headerLimit}-byte header limit`);
        const huge = await sign(headerLimit);
        // A fresh connection: the server answers 431 and closes it.
        const answer = await send(lab.origin, ROUTE, { headers: { cookie: `${cookieName}=${huge}` }, agent: false });
        const oversize: SizeRow = {
          key: `${token.row.key}-oversize`,
          label: `${token.row.label} + ${headerLimit / 1024} KB claims`,
          extraBytes: headerLimit,
          cookieBytes: prefix + Buffer.byteLength(huge),
          p50Ms: null,
          requestsPerSecond: null,
          status: answer.status,
        };
        claims.push(growthClaim(rows, oversize, headerLimit, verify, none.p50Ms));
      }
      lab.progress("Deleting the throwaway account and its sessions");
      return claims;
    });
  },
} satisfies Experiment<"size">;

function decodeJwtOrNull(value: string): JWTPayload | null {
  try {
    return decodeJwt(value);
  } catch {
    return null;
  }
}

function signPadded(base: JWTPayload, extra: number, key: CryptoKey): Promise<string> {
  const claims = extra === 0 ? base : { ...base, ...extraClaims(extra) };
  return new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", typ: "JWT", kid: "lab-throwaway" }).sign(key);
}

function lightweightClaim(session: SizeRow, token: SizeRow, bearerBytes: number, bareP50: number): ClaimResult {
  const { verdict, caveat } = lightweightVerdict(session, token);
  const rows = [session, token];
  return {
    id: "size-lightweight",
    claim: "A session id is lightweight; a JWT is heavier on every request.",
    measured: `Bytes of the cookie (name=value) each strategy's real sign-in sets, sent on every request, and the median of ${REQUESTS_PER_VARIANT} loopback requests to ${ROUTE} carrying it.`,
    columns: rows.map((row, index) => ({
      key: row.key,
      heading: row.label,
      tone: index === 0 ? ("session" as const) : ("token" as const),
      figure: `${row.cookieBytes} bytes`,
      detail: row.p50Ms === null ? "" : `median request ${formatMs(row.p50Ms)}, ${Math.round(row.requestsPerSecond ?? 0)} req/s`,
    })),
    charts: [
      {
        title: "Cookie bytes per request",
        unit: "bytes",
        bars: rows.map((row, index) => ({ key: row.key, label: row.label, value: row.cookieBytes, display: `${row.cookieBytes} bytes`, tone: index === 0 ? ("session" as const) : ("token" as const) })),
      },
    ],
    tables: [
      {
        caption: "Real cookies issued by this server",
        columns: ["Credential", "Bytes per request", "Median request", "Requests/s"],
        rows: [
          { key: "none", cells: ["no cookie (control)", "0", formatMs(bareP50), "—"] },
          ...rows.map((row) => ({
            key: row.key,
            cells: [row.label, String(row.cookieBytes), row.p50Ms === null ? "—" : formatMs(row.p50Ms), row.requestsPerSecond === null ? "—" : String(Math.round(row.requestsPerSecond))],
          })),
          { key: "bearer", cells: ["API access token (Authorization header)", String(bearerBytes), "—", "—"] },
        ],
      },
    ],
    verdict,
    caveat,
  };
}

function growthClaim(rows: SizeRow[], oversize: SizeRow, headerLimit: number, verifyMicrosBySize: number[], bareP50: number): ClaimResult {
  const { verdict, caveat } = growthVerdict(rows, oversize, headerLimit);
  const browser = (row: SizeRow) => (browserKeeps(row.cookieBytes) ? "kept" : `dropped (over ${BROWSER_COOKIE_LIMIT} bytes)`);
  const first = verifyMicrosBySize[0];
  const last = verifyMicrosBySize[verifyMicrosBySize.length - 1];
  return {
    id: "size-growth",
    claim: "A JWT with a lot of data slows requests.",
    measured: `The JWT's claims plus 0.5–8 KB of extra claims (signed with a throwaway key), each sent ${REQUESTS_PER_VARIANT} times as a cookie over loopback to ${ROUTE}; then one over the server's ${headerLimit}-byte header limit.`,
    columns: [
      ...rows.slice(0, 1).concat(rows.slice(-1)).map((row) => ({
        key: row.key,
        heading: row.label,
        tone: "token" as const,
        figure: `${row.cookieBytes} bytes`,
        detail: `median ${row.p50Ms === null ? "—" : formatMs(row.p50Ms)}, ${Math.round(row.requestsPerSecond ?? 0)} req/s; browser: ${browser(row)}`,
      })),
      { key: oversize.key, heading: oversize.label, tone: "token" as const, figure: `${oversize.cookieBytes} bytes`, detail: `server answered ${oversize.status ?? "nothing (connection closed)"}` },
    ],
    charts: [
      {
        title: "Median request time by cookie size",
        unit: "ms",
        bars: rows.map((row) => ({
          key: row.key,
          label: row.label,
          value: row.p50Ms ?? 0,
          display: row.p50Ms === null ? "—" : formatMs(row.p50Ms),
          tone: "token" as const,
          ...(browserKeeps(row.cookieBytes) ? {} : { flag: "dropped by browsers" }),
        })),
      },
      {
        title: "Cookie bytes against the limits",
        unit: "bytes",
        bars: [...rows, oversize].map((row) => ({
          key: row.key,
          label: row.label,
          value: row.cookieBytes,
          display: `${row.cookieBytes} bytes`,
          tone: "token" as const,
          ...(row === oversize ? { flag: `server: ${oversize.status ?? "closed"}` } : browserKeeps(row.cookieBytes) ? {} : { flag: "dropped by browsers" }),
        })),
        markers: [
          { value: BROWSER_COOKIE_LIMIT, label: `browser cookie limit (${BROWSER_COOKIE_LIMIT})` },
          { value: headerLimit, label: `server header limit (${headerLimit})` },
        ],
      },
    ],
    tables: [
      {
        caption: `JWT cookie size on the wire (no cookie: median ${formatMs(bareP50)})`,
        columns: ["Cookie", "Bytes", "Median request", "Requests/s", "Browser (RFC 6265, 4096 bytes)", "Server answer"],
        rows: [...rows, oversize].map((row) => ({
          key: row.key,
          cells: [
            row.label,
            String(row.cookieBytes),
            row.p50Ms === null ? "—" : formatMs(row.p50Ms),
            row.requestsPerSecond === null ? "—" : String(Math.round(row.requestsPerSecond)),
            browser(row),
            row.status === null ? "no answer" : String(row.status),
          ],
        })),
      },
    ],
    verdict,
    caveat: first !== undefined && last !== undefined ? `${caveat} Verifying the signature in process took a median ${first.toFixed(0)} µs as issued and ${last.toFixed(0)} µs with 8 KB of extra claims.` : caveat,
  };
}
