#!/usr/bin/env node
// A real OpenID Connect provider for tests and for trying provider sign-in
// locally: the `oidc-provider` package, in this process, on 127.0.0.1 and a
// free port (or --port), with one confidential client registered for the app.
// Nothing leaves loopback: the provider's own sign-in pages would load a web
// font from outside, and that line is stripped from every page it serves.
//
// Users (its sign-in page takes any password: it is a test provider):
//   alice        verified email alice@idp.example.test
//   bob          unverified email bob@idp.example.test
//   any other login made of letters, digits and . _ - + @ is accepted too: the
//   login is the subject; a login containing "@" is the email address itself,
//   otherwise <login>@idp.example.test; a login starting with "unverified"
//   gets an unverified email. Tests use fresh logins so runs never collide.
//
// Library use:
//   import { startIdp } from './idp.mjs';
//   const idp = await startIdp({ redirectUris: ['http://127.0.0.1:3000/api/auth/callback/oidc'] });
//   ... idp.issuer, idp.clientId, idp.clientSecret, idp.env (OIDC_* variables for the app) ...
//   idp.spoilIdTokens('nonce');   // test only: the token endpoint's ID tokens come out wrong (ID_TOKEN_DEFECTS)
//   idp.spoilIdTokens(null);      // honest again
//   await idp.stop();
//
// Command line (runs until Ctrl-C; prints the variables to give the app):
//   node scripts/idp.mjs [--port=4455] [--app=http://localhost:3000]
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { freePort } from './app-process.mjs';

const HOST = '127.0.0.1';
export const CLIENT_ID = 'session-or-token';
/** The provider id the app gives the generic OpenID Connect provider (its callback path ends with it). */
export const APP_PROVIDER_ID = 'oidc';
export const CALLBACK_PATH = `/api/auth/callback/${APP_PROVIDER_ID}`;
/** The app's OpenID Connect Back-Channel Logout endpoint: the provider posts logout tokens there. */
export const BACKCHANNEL_LOGOUT_PATH = '/api/oidc/backchannel-logout';
/** The app's pages after sign-out (lib/auth/rp-logout.ts POST_LOGOUT_PATHS), registered as post_logout_redirect_uris. */
export const POST_LOGOUT_PATHS = ['/login?signedOut=revoked', '/login?signedOut=cookie-only'];
const EMAIL_DOMAIN = 'idp.example.test';

export const USERS = {
  alice: { name: 'Alice Provider', email: `alice@${EMAIL_DOMAIN}`, email_verified: true },
  bob: { name: 'Bob Unverified', email: `bob@${EMAIL_DOMAIN}`, email_verified: false },
};

const LOGIN_PATTERN = /^[A-Za-z0-9._+@-]{1,100}$/;

/**
 * Test only: the ways `spoilIdTokens` makes the token endpoint's ID tokens
 * wrong, each one a token a relying party must refuse (OpenID Connect Core
 * §3.1.3.7):
 *   nonce        another nonce than the one the app sent (re-signed with the provider's key)
 *   issuer       another `iss` than this provider (re-signed with the provider's key)
 *   expired      `exp` an hour ago (re-signed with the provider's key)
 *   foreign-key  the claims untouched, signed with a key that is not in this provider's JWKS (same `kid`)
 *   stale-auth-time  `auth_time` an hour ago, as from a provider that ignored `prompt=login` and `max_age`
 *                and answered from a session it already had (re-signed with the provider's key); valid
 *                for a sign-in, but no proof of a new one when the app asked for it
 */
export const ID_TOKEN_DEFECTS = ['nonce', 'issuer', 'expired', 'foreign-key', 'stale-auth-time'];
/** The `iss` an ID token spoiled with "issuer" names. */
export const FOREIGN_ISSUER = 'https://another-issuer.example.test';

/** The claims of a login, or undefined when the provider knows no such user. */
export function claimsOf(login) {
  if (Object.hasOwn(USERS, login)) return { sub: login, ...USERS[login] };
  if (!LOGIN_PATTERN.test(login)) return undefined;
  const email = login.includes('@') ? login.toLowerCase() : `${login.toLowerCase()}@${EMAIL_DOMAIN}`;
  return { sub: login, name: `Test ${login.split('@')[0]}`, email, email_verified: !login.startsWith('unverified') };
}

/** Providers started by this process and not stopped yet: closed when it exits. */
const live = new Set();
process.on('exit', () => {
  for (const server of live) server.closeAllConnections?.();
});

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts the provider. Options: port (default: a free one), redirectUris (the
 * app's callback URLs; default: http://localhost:3000 and http://127.0.0.1:3000),
 * clientSecret (default: random).
 */
export async function startIdp(options = {}) {
  // Imported here: it prints a warning about the Node version when loaded, which
  // callers that only want the constants above need not see.
  const { default: Provider } = await import('oidc-provider');
  const redirectUris = options.redirectUris ?? ['http://localhost:3000', 'http://127.0.0.1:3000'].map((origin) => `${origin}${CALLBACK_PATH}`);
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: randomBytes(8).toString('hex') };
  /** Test only: how the token endpoint's ID tokens are spoiled (one of ID_TOKEN_DEFECTS), or null. */
  let idTokenDefect = null;
  let foreignKey = null;

  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = options.port ?? (await freePort(HOST));
    const issuer = `http://${HOST}:${port}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: clientSecret,
          redirect_uris: redirectUris,
          response_types: ['code'],
          grant_types: ['authorization_code'],
          token_endpoint_auth_method: 'client_secret_basic',
          // Back-Channel Logout: when a session here ends, the provider posts a
          // logout token to the app; session_required puts its session id
          // (`sid`) in ID tokens and logout tokens.
          backchannel_logout_uri: `${new URL(redirectUris[0]).origin}${BACKCHANNEL_LOGOUT_PATH}`,
          backchannel_logout_session_required: true,
          // RP-initiated logout: where the provider may send the browser back
          // after ending its session (the app's signed-out pages, exactly).
          post_logout_redirect_uris: [...new Set(redirectUris.map((uri) => new URL(uri).origin))].flatMap((origin) =>
            POST_LOGOUT_PATHS.map((path) => `${origin}${path}`),
          ),
        },
      ],
      jwks: { keys: [jwk] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      // PKCE for every client, confidential ones included (the default asks it of public clients only).
      pkce: { required: () => true },
      // Short, explicit lifetimes (seconds): a test provider keeps everything in memory.
      ttl: { Session: 3600, Grant: 3600, Interaction: 600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
      // email and name in the ID token itself, not only from the userinfo endpoint.
      conformIdTokenClaims: false,
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      features: { devInteractions: { enabled: true }, backchannelLogout: { enabled: true } },
      // The provider refuses to post to special-use addresses (SSRF protection,
      // through the request's dispatcher); the app listens on loopback, so for
      // loopback hosts only the request goes out without that dispatcher.
      fetch: (url, init) => {
        if (!isLoopbackHost(new URL(url).hostname)) return globalThis.fetch(url, init);
        const { dispatcher: _ssrfGuard, ...rest } = init;
        return globalThis.fetch(url, rest);
      },
      async findAccount(_ctx, id) {
        const claims = claimsOf(id);
        if (!claims) return undefined;
        return { accountId: id, claims: async () => claims };
      },
      async renderError(ctx, out) {
        ctx.type = 'html';
        ctx.body = `<!DOCTYPE html><title>Error</title><h1>Sign-in error</h1><p>${escapeHtml(out.error)}: ${escapeHtml(out.error_description ?? '')}</p>`;
      },
    });
    // The built-in sign-in pages @import a web font from outside loopback: strip it,
    // and let the browser load nothing but this origin's own pages.
    provider.use(async (ctx, next) => {
      await next();
      if (typeof ctx.body === 'string' && ctx.response.is('html')) {
        ctx.body = ctx.body.replace(/@import url\([^)]*\);?/g, '');
        ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'");
      }
    });
    // Test only (spoilIdTokens): the ID token of a successful token response,
    // replaced by a spoiled one. Everything else in the response is untouched.
    provider.use(async (ctx, next) => {
      await next();
      const body = ctx.body;
      if (idTokenDefect === null || ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 200) return;
      if (typeof body !== 'object' || body === null || typeof body.id_token !== 'string') return;
      foreignKey ??= (await generateKeyPair('RS256')).privateKey;
      const key = idTokenDefect === 'foreign-key' ? foreignKey : privateKey;
      ctx.body = { ...body, id_token: await spoiledIdToken(body.id_token, idTokenDefect, key) };
    });
    // A logout token the app refused is a test failure to see, not to swallow.
    provider.on('backchannel.error', (_ctx, error) => console.error(`idp: back-channel logout failed: ${error.message}`));
    const server = http.createServer(provider.callback());
    const listening = await new Promise((resolve, reject) => {
      server.once('error', (error) => (error.code === 'EADDRINUSE' && !options.port ? resolve(false) : reject(error)));
      server.listen(port, HOST, () => resolve(true));
    });
    if (!listening) continue;
    live.add(server);
    let stopped = false;
    return {
      issuer,
      port,
      clientId: CLIENT_ID,
      clientSecret,
      redirectUris,
      /** The variables that point the app's generic OpenID Connect provider here. */
      env: { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: clientSecret, OIDC_NAME: 'Test provider' },
      /**
       * Test only: this provider's private signing key (JWK), which the e2e
       * harness hands to e2e/oidc-logout.spec.ts so it can send the app
       * crafted logout tokens signed with the right key.
       */
      testSigningJwk: jwk,
      /**
       * Test only: from now on every ID token the token endpoint issues is
       * spoiled in this way (one of ID_TOKEN_DEFECTS); null makes them honest again.
       */
      spoilIdTokens(defect) {
        if (defect !== null && !ID_TOKEN_DEFECTS.includes(defect)) throw new Error(`unknown ID token defect "${defect}"`);
        idTokenDefect = defect;
      },
      get running() {
        return !stopped;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        live.delete(server);
        server.closeAllConnections();
        await new Promise((resolve) => server.close(() => resolve()));
      },
    };
  }
  await delay(0);
  throw new Error('could not find a free port for the test provider');
}

/** The same ID token with one defect (ID_TOKEN_DEFECTS), signed with `key` under the original header. */
async function spoiledIdToken(idToken, defect, key) {
  const header = decodeProtectedHeader(idToken);
  const claims = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  const changed = {
    nonce: { nonce: randomBytes(16).toString('base64url') },
    issuer: { iss: FOREIGN_ISSUER },
    expired: { iat: now - 7200, exp: now - 3600 },
    'foreign-key': {},
    'stale-auth-time': { auth_time: now - 3600 },
  }[defect];
  return new SignJWT({ ...claims, ...changed }).setProtectedHeader(header).sign(key);
}

function isLoopbackHost(hostname) {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Command-line mode. (No top-level await: TypeScript tests import this file, and
// tsx compiles it to CommonJS for them.)
async function main() {
  const args = Object.fromEntries(
    process.argv.slice(2).map((arg) => {
      const [key, ...rest] = arg.replace(/^--/, '').split('=');
      return [key, rest.join('=')];
    }),
  );
  const port = args.port ? Number(args.port) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error('--port must be a TCP port number');
  const apps = args.app ? [new URL(args.app).origin] : ['http://localhost:3000', 'http://127.0.0.1:3000'];
  const idp = await startIdp({ port, redirectUris: apps.map((origin) => `${origin}${CALLBACK_PATH}`) });
  console.log(`Test OpenID Connect provider at ${idp.issuer}`);
  console.log(`Client "${idp.clientId}" may return to: ${idp.redirectUris.join(', ')}`);
  console.log('\nStart the app with these variables (in .env or the environment):\n');
  for (const [name, value] of Object.entries(idp.env)) console.log(`${name}=${value}`);
  console.log('\nThen choose "Continue with Test provider" on /login. Users (any password):');
  for (const [login, user] of Object.entries(USERS)) {
    console.log(`  ${login.padEnd(8)} ${user.email} (${user.email_verified ? 'verified' : 'unverified'} email)`);
  }
  console.log('  any other login is accepted too: it becomes the subject, with <login>@idp.example.test as a verified email.');
  console.log('\nCtrl-C stops it (the client secret changes on every start).');
  const shutdown = async () => {
    await idp.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(String(error?.message ?? error));
    process.exit(1);
  });
}
