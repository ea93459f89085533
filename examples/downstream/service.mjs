#!/usr/bin/env node
// A separate service on another origin that accepts the app's access tokens.
//
// It holds no secret and shares nothing with the app but a URL: it verifies
// each token's Ed25519 signature with a public key fetched from the app's JWKS
// (cached, refetched when a token names an unknown key), then checks algorithm,
// issuer, audience, token type, lifetime and required claims. Browser-session
// JWTs (typ "JWT", audience "…:browser") are refused.
//
//   GET /api/greeting   Authorization: Bearer <access token>  → 200 greeting | 401 | 503
//   GET /health         → 200 {"ok":true}
//   GET /demo/xss, /demo/xss/account, /demo/csrf   the comparison lab's demo pages
//                       (demo values only; framable by APP_ORIGIN alone; see README.md)
//
// CORS allows exactly one origin (APP_ORIGIN), without credentials.
// Environment: see README.md next to this file. Start: `npm run downstream`.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';

/** Authorization headers over this size are refused unread. */
const MAX_AUTHORIZATION_BYTES = 8 * 1024;
/** Leeway for clocks that disagree a little (exp, nbf, iat). */
const CLOCK_TOLERANCE_SECONDS = 5;
/** The app serves its JWKS with max-age=300: keep a fetched set no longer. */
const JWKS_CACHE_MAX_AGE_MS = 300_000;
/** After a fetch, a token with an unknown kid does not trigger another one for this long. */
const JWKS_COOLDOWN_MS = 30_000;
const JWKS_TIMEOUT_MS = 5_000;
/** Preflight answers may be cached by the browser for this long. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;
/** Open connections get this long to finish after SIGTERM/SIGINT. */
const SHUTDOWN_GRACE_MS = 5_000;

const REQUIRED_CLAIMS = ['sub', 'exp', 'iat', 'jti', 'sid', 'client_id'];
const VERIFIED_BY = 'downstream service (public key from the JWKS only)';
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*) *$/i;

// ------------------------------------------------------------ configuration ---

class ConfigError extends Error {}

/** An http(s) URL, or a problem description. */
function parseHttpUrl(value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    return { problem: 'is not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: 'must be an http:// or https:// URL' };
  if (url.username || url.password) return { problem: 'must not contain credentials' };
  return { url };
}

/**
 * Reads and checks the environment. Throws a ConfigError listing every bad
 * value, so one start-up attempt shows all of them.
 */
export function readConfig(source = process.env) {
  const problems = [];
  const bad = (variable, value, problem) => problems.push(`${variable}=${JSON.stringify(value)}: ${problem}`);
  /** The trimmed value, the default when unset, or null (reported) when set but empty. */
  const read = (variable, fallback) => {
    const raw = source[variable];
    if (raw === undefined) return fallback;
    const value = raw.trim();
    if (value !== '') return value;
    bad(variable, raw, 'must not be empty');
    return null;
  };

  const portText = read('DOWNSTREAM_PORT', '4000');
  const port = portText !== null && /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (portText !== null && !(port <= 65535)) bad('DOWNSTREAM_PORT', portText, 'must be an integer from 0 to 65535');

  const host = read('DOWNSTREAM_HOST', '127.0.0.1');
  if (host !== null && /[\s/?#@]/.test(host)) bad('DOWNSTREAM_HOST', host, 'must be a host name or an IP address');

  let appOrigin = null;
  const originText = read('APP_ORIGIN', 'http://localhost:3000');
  if (originText !== null) {
    const origin = parseHttpUrl(originText);
    if (origin.problem) bad('APP_ORIGIN', originText, origin.problem);
    else if (origin.url.pathname !== '/' || origin.url.search || origin.url.hash || /[?#]/.test(originText)) {
      bad('APP_ORIGIN', originText, 'must be an origin only (scheme://host[:port]), without a path');
    } else appOrigin = origin.url.origin;
  }

  let jwksUrl = null;
  const jwksText = read('JWKS_URL', appOrigin && `${appOrigin}/.well-known/jwks.json`);
  if (jwksText) {
    const jwks = parseHttpUrl(jwksText);
    if (jwks.problem) bad('JWKS_URL', jwksText, jwks.problem);
    else jwksUrl = jwks.url;
  }

  const issuer = read('JWT_ISSUER', 'sot');
  const audience = read('API_AUDIENCE', 'session-or-token:api');

  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return { port, host, appOrigin, jwksUrl, issuer, audience };
}

// ------------------------------------------------------------ verification ---

/** The JWKS could not be fetched or used: a problem on our side, not the caller's. */
class JwksUnavailable extends Error {
  constructor(cause) {
    super('JWKS unavailable', { cause });
    // e.g. ERR_JWKS_TIMEOUT, ERR_JWKS_INVALID, or the network error under fetch's TypeError (ECONNREFUSED)
    this.code = cause?.code ?? cause?.cause?.code ?? cause?.name ?? 'ERR_JWKS_UNAVAILABLE';
  }
}

/** A token that verified but whose claims do not have the expected form. */
class InvalidClaims extends Error {
  code = 'ERR_CLAIMS_INVALID';
}

/**
 * Errors of the key lookup that are the token's fault (it names a key or
 * algorithm the JWKS does not have). Anything else the remote set throws —
 * network errors, timeouts, a non-200 answer, a malformed set — means the
 * JWKS is unavailable.
 */
function isTokenKeyError(error) {
  return (
    error instanceof joseErrors.JWKSNoMatchingKey ||
    error instanceof joseErrors.JWKSMultipleMatchingKeys ||
    error instanceof joseErrors.JOSENotSupported ||
    error instanceof joseErrors.JOSEAlgNotAllowed
  );
}

function createVerifier(config) {
  const remote = createRemoteJWKSet(config.jwksUrl, {
    cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
    cooldownDuration: JWKS_COOLDOWN_MS,
    timeoutDuration: JWKS_TIMEOUT_MS,
  });

  /** Key resolver: a token must name its key; lookup failures are sorted into "bad token" and "unavailable". */
  async function getKey(protectedHeader, token) {
    if (typeof protectedHeader.kid !== 'string' || protectedHeader.kid === '') {
      throw new joseErrors.JWSInvalid('"kid" header parameter missing');
    }
    try {
      return await remote(protectedHeader, token);
    } catch (error) {
      if (isTokenKeyError(error)) throw error;
      throw new JwksUnavailable(error);
    }
  }

  /** Verifies a compact JWS; resolves to the greeting, or throws. */
  return async function verify(token) {
    const { payload, protectedHeader } = await jwtVerify(token, getKey, {
      algorithms: ['EdDSA'],
      issuer: config.issuer,
      audience: config.audience,
      typ: 'at+jwt',
      requiredClaims: REQUIRED_CLAIMS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    for (const claim of ['sub', 'jti', 'sid', 'client_id']) {
      if (typeof payload[claim] !== 'string' || payload[claim] === '') throw new InvalidClaims(`"${claim}" must be a non-empty string`);
    }
    // jose checks that iat is a number; an access token from the future is refused too.
    if (payload.iat > Math.floor(Date.now() / 1000) + CLOCK_TOLERANCE_SECONDS) throw new InvalidClaims('"iat" is in the future');
    const name = typeof payload.name === 'string' && payload.name.trim() !== '' ? payload.name : payload.sub;
    return {
      message: `Hello, ${name}`,
      sub: payload.sub,
      sid: payload.sid,
      kid: protectedHeader.kid,
      expiresAt: new Date(payload.exp * 1000).toISOString(),
      verifiedBy: VERIFIED_BY,
    };
  };
}

// ------------------------------------------------------------------- HTTP ---

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function unauthorized(res, reason) {
  res.locals.reason = reason;
  sendJson(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
}

/** A path fit for a log line: no query string, no control characters, bounded length. */
function loggablePath(rawUrl) {
  const pathOnly = (rawUrl ?? '').split('?')[0] ?? '';
  const clean = pathOnly.replace(/[^\x21-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

export function createApp(config, { verify = createVerifier(config), log = console.log } = {}) {
  async function greeting(req, res) {
    const header = req.headers.authorization;
    if (header === undefined) return unauthorized(res, 'no credentials');
    if (Buffer.byteLength(header, 'latin1') > MAX_AUTHORIZATION_BYTES) return unauthorized(res, 'oversized credentials');
    const match = BEARER.exec(header);
    if (!match) return unauthorized(res, 'not a Bearer JWS');
    try {
      return sendJson(res, 200, await verify(match[1]));
    } catch (error) {
      if (error instanceof JwksUnavailable) {
        res.locals.reason = `JWKS unavailable: ${error.code}`;
        return sendJson(res, 503, { error: 'unavailable' }, { 'Retry-After': '30' });
      }
      if (error instanceof joseErrors.JOSEError || error instanceof InvalidClaims) {
        return unauthorized(res, `${error.code}${error.claim ? ` (${error.claim})` : ''}`);
      }
      // Anything else while looking at an untrusted token is still the token's problem, not a crash.
      return unauthorized(res, 'unverifiable token');
    }
  }

  function health(_req, res) {
    sendJson(res, 200, { ok: true });
  }

  const demo = createDemoPages(config);
  const routes = new Map([
    ['/api/greeting', greeting],
    ['/health', health],
    ['/demo/xss', demo.xssPage],
    ['/demo/xss/account', demo.xssAccount],
    ['/demo/csrf', demo.csrfPage],
  ]);

  async function handle(req, res) {
    const origin = req.headers.origin;
    const allowedOrigin = origin !== undefined && origin === config.appOrigin;
    // Responses differ by Origin, so caches must key on it.
    res.setHeader('Vary', 'Origin');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (allowedOrigin) {
      res.setHeader('Access-Control-Allow-Origin', config.appOrigin);
      res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate');
    }

    let pathname;
    try {
      pathname = new URL(req.url ?? '/', 'http://downstream.invalid').pathname;
    } catch {
      return sendJson(res, 400, { error: 'bad_request' });
    }
    const route = routes.get(pathname);
    if (!route) return sendJson(res, 404, { error: 'not_found' });

    if (req.method === 'OPTIONS') {
      if (origin === undefined) {
        // Not a CORS preflight: say what the resource supports.
        res.writeHead(204, { Allow: 'GET, HEAD, OPTIONS' });
        return res.end();
      }
      if (!allowedOrigin) {
        res.locals.reason = 'origin not allowed';
        return sendJson(res, 403, { error: 'origin_not_allowed' });
      }
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET',
        'Access-Control-Allow-Headers': 'Authorization',
        'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
      });
      return res.end();
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJson(res, 405, { error: 'method_not_allowed' }, { Allow: 'GET, HEAD, OPTIONS' });
    }
    return route(req, res);
  }

  return async function listener(req, res) {
    const started = process.hrtime.bigint();
    res.locals = { reason: '' };
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const reason = res.locals.reason ? ` (${res.locals.reason})` : '';
      log(`${new Date().toISOString()} ${req.method} ${loggablePath(req.url)} ${res.statusCode} ${ms.toFixed(1)}ms${reason}`);
    });
    try {
      await handle(req, res);
    } catch (error) {
      res.locals.reason = `internal error: ${error?.name ?? 'Error'}`;
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
      else res.destroy();
    }
  };
}


// ------------------------------------------------------------- lab demos ---
//
// Pages the app's comparison lab (/compare) frames to show, in the visitor's
// browser, what a script injected into a page can do with a token in
// localStorage and with an HttpOnly cookie, and what a cross-origin form can
// do with a cookie. Everything on them is a demo value made up here: no
// credential of the app or of the visitor is ever on these pages. Each is
// framable by APP_ORIGIN alone (frame-ancestors) and answered only to a frame
// (Sec-Fetch-Dest: iframe), and reports to APP_ORIGIN only (postMessage with
// that exact target origin).

/** The demo's own HttpOnly cookie (a made-up value; Path keeps it to the demo's pages). */
export const DEMO_COOKIE = 'demo_session';
/** Where the demo page keeps its made-up token. */
export const DEMO_STORAGE_KEY = 'demo_access_token';
/** Longest injected note the XSS demo reflects. */
const MAX_NOTE_BYTES = 4 * 1024;
/** The demo cookie lives as long as a visit to the lab page needs. */
const DEMO_COOKIE_MAX_AGE_SECONDS = 600;

const htmlEscape = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** A value fit for an inline script: JSON with everything that could end the script element escaped. */
const scriptValue = (value) => JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function cookieValue(header, name) {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return null;
}

function createDemoPages(config) {
  // Demo cookies are made up here and checked against this process's own key: they prove nothing anywhere else.
  const demoKey = randomBytes(32);
  const mac = (nonce) => createHmac('sha256', demoKey).update(`demo-session:${nonce}`).digest('base64url');
  const newDemoCookie = () => {
    const nonce = randomBytes(16).toString('base64url');
    return `${nonce}.${mac(nonce)}`;
  };
  const isDemoCookie = (value) => {
    const [nonce, tag, extra] = (value ?? '').split('.');
    if (!nonce || !tag || extra !== undefined) return false;
    const expected = Buffer.from(mac(nonce));
    const given = Buffer.from(tag);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  /** A made-up token shaped like a JWT (unsigned: `alg: none`), so the page holds what an SPA would. */
  const demoToken = () => {
    const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'demo-user', demo: true, iat: Math.floor(Date.now() / 1000) })}.`;
  };

  /** Only a frame may load a demo page: a top-level visit (a link someone was sent) gets nothing. */
  function framedOnly(req, res) {
    if (req.headers['sec-fetch-dest'] === 'iframe') return true;
    res.locals.reason = 'demo page outside a frame';
    sendJson(res, 403, { error: 'frame_only' });
    return false;
  }

  function sendHtml(res, html, { csp, cookie }) {
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(html),
      'Content-Security-Policy': csp,
      'Referrer-Policy': 'no-referrer',
      ...(cookie ? { 'Set-Cookie': cookie } : {}),
    });
    res.end(html);
  }

  /**
   * A deliberately injectable page: it keeps a made-up token in localStorage
   * and a made-up session in an HttpOnly cookie, then writes the `note`
   * parameter into the page unescaped — the reflected XSS. Its CSP lets inline
   * script run (that is the flaw shown) but lets the page connect nowhere but
   * itself and be framed by the app alone.
   */
  function xssPage(req, res) {
    if (!framedOnly(req, res)) return;
    const note = new URL(req.url ?? '/', 'http://downstream.invalid').searchParams.get('note') ?? '';
    if (Buffer.byteLength(note) > MAX_NOTE_BYTES) return sendJson(res, 400, { error: 'bad_request' });
    const html = `<!doctype html><meta charset="utf-8"><title>Injectable demo page</title>
<body style="font:14px system-ui;margin:8px">
<p>Demo page on another origin than the app: a made-up token in localStorage, a made-up session in an HttpOnly cookie.</p>
<script>localStorage.setItem(${scriptValue(DEMO_STORAGE_KEY)}, ${scriptValue(demoToken())});</script>
<p>Your note: ${note}</p>
</body>`;
    sendHtml(res, html, {
      csp: `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors ${config.appOrigin}`,
      cookie: `${DEMO_COOKIE}=${newDemoCookie()}; HttpOnly; SameSite=Lax; Path=/demo/; Max-Age=${DEMO_COOKIE_MAX_AGE_SECONDS}`,
    });
  }

  /** What the demo cookie authorizes: the demo page's own "account" (same origin only, so no CORS headers). */
  function xssAccount(req, res) {
    const value = cookieValue(req.headers.cookie, DEMO_COOKIE);
    if (!isDemoCookie(value)) {
      res.locals.reason = value === null ? 'no demo cookie' : 'not a demo cookie';
      return sendJson(res, 401, { error: 'unauthorized' });
    }
    sendJson(res, 200, { account: 'demo', authorizedBy: `${DEMO_COOKIE} cookie (HttpOnly)` });
  }

  /**
   * The attacker's page for the CSRF demo: a form that posts to the app's demo
   * endpoint, sent the way the browser sends that form (POST, urlencoded,
   * cookies as the browser decides) by fetch, so the app's answer can be read
   * and reported to the lab page.
   */
  function csrfPage(req, res) {
    if (!framedOnly(req, res)) return;
    const nonce = randomBytes(16).toString('base64');
    const target = `${config.appOrigin}/api/compare/csrf-demo/transfer`;
    const html = `<!doctype html><meta charset="utf-8"><title>Cross-origin form</title>
<body style="font:14px system-ui;margin:8px">
<form id="forged" method="post" action="${htmlEscape(target)}"><input type="hidden" name="amount" value="100"><input type="hidden" name="to" value="attacker"><button>Win a prize</button></form>
<script nonce="${nonce}">
(async () => {
  const form = document.getElementById('forged');
  const report = { type: 'sot-demo-csrf', pageOrigin: location.origin, status: 0, verdict: null };
  try {
    const response = await fetch(form.action, { method: 'POST', body: new URLSearchParams(new FormData(form)), credentials: 'include', mode: 'cors' });
    report.status = response.status;
    // What each defence decided, in a header the app exposes to these demo pages only.
    report.verdict = response.headers.get('X-Csrf-Demo');
  } catch {
    report.status = 0;
  }
  parent.postMessage(report, ${scriptValue(config.appOrigin)});
})();
</script>
</body>`;
    sendHtml(res, html, {
      csp: `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src ${config.appOrigin}; form-action ${config.appOrigin}; base-uri 'none'; frame-ancestors ${config.appOrigin}`,
    });
  }

  return { xssPage, xssAccount, csrfPage };
}

// ------------------------------------------------------------------- main ---

async function main() {
  let config;
  try {
    config = readConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`downstream: ${error.message}`);
    process.exit(1);
  }

  const server = http.createServer(createApp(config));
  // Idle keep-alive sockets should not hold up a shutdown for long.
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (error, socket) => {
    // Malformed requests and over-long header sections (431) are answered by Node itself; just make sure the socket closes.
    if (error.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    console.log(`${new Date().toISOString()} - - ${status.slice(0, 3)} (${error.code ?? 'client error'})`);
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error) => {
    console.error(`downstream: cannot listen on ${config.host}:${config.port}: ${error.code ?? error.message}`);
    process.exit(1);
  });

  const { port } = server.address();
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  console.log(`downstream: listening on http://${hostForUrl}:${port}`);
  console.log(
    `downstream: accepting access tokens (iss ${config.issuer}, aud ${config.audience}) verified with ${config.jwksUrl.href}; CORS origin ${config.appOrigin}`,
  );

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`downstream: ${signal} received, stopping`);
    const force = setTimeout(() => {
      server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      console.log('downstream: stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
