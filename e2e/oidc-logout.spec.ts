import { randomBytes } from 'node:crypto';
import type { Page } from '@playwright/test';
import { SignJWT, generateKeyPair, importJWK, type JWK } from 'jose';
import { sessionOriginsForEmail, sessionRevocationsForEmail } from './db';
import { RADIO, STRATEGIES, expect, expectSignedIn, expectSignedOut, test, type Strategy } from './fixtures';
import { PROVIDER_BUTTON, freshLogin, providerEmail, signInAtProvider } from './provider';

// OpenID Connect Back-Channel Logout against the real test provider
// (scripts/idp.mjs, started by scripts/test.mjs): ending the provider session
// makes the provider post a logout token to the app, which revokes the
// sessions started from it. Crafted tokens are signed with the provider's own
// key (E2E_IDP_SIGNING_JWK, handed over by the harness) or with another one.
const ISSUER = process.env.E2E_IDP_ISSUER ?? '';
const SIGNING_JWK = JSON.parse(process.env.E2E_IDP_SIGNING_JWK ?? '{}') as JWK & { kid: string };
// scripts/idp.mjs: CLIENT_ID and BACKCHANNEL_LOGOUT_PATH (a spec cannot import the .mjs itself).
const CLIENT_ID = 'session-or-token';
const BACKCHANNEL_LOGOUT_PATH = '/api/oidc/backchannel-logout';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

test.beforeAll(() => {
  expect(ISSUER, 'E2E_IDP_ISSUER: scripts/test.mjs starts the test provider').toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(SIGNING_JWK.kid, 'E2E_IDP_SIGNING_JWK: scripts/test.mjs hands over the provider key').toBeTruthy();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Provider sign-in with a session of `strategy`, through the provider's own pages; ends on /dashboard. */
async function signInThroughProvider(page: Page, strategy: Strategy, login: string, atProvider = true): Promise<void> {
  await page.goto('/login');
  await page.getByRole('radio', { name: RADIO[strategy] }).check();
  await page.getByRole('button', { name: PROVIDER_BUTTON }).click();
  if (atProvider) await signInAtProvider(page, login);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
}

/**
 * Another tab of the same browser ends the session at the provider; the
 * provider posts the logout token to the app before it answers.
 */
async function endProviderSession(page: Page): Promise<void> {
  const providerTab = await page.context().newPage();
  await providerTab.goto(`${ISSUER}/session/end`);
  await providerTab.getByRole('button', { name: 'Yes, sign me out' }).click();
  await expect(providerTab.getByRole('heading', { name: 'Sign-out Success' })).toBeVisible();
  await providerTab.close();
}

/** The provider session id (`sid`) recorded on the user's latest session. */
async function latestSid(login: string): Promise<string> {
  const origins = await sessionOriginsForEmail(providerEmail(login));
  const sid = origins.at(-1)?.idpSessionId;
  expect(sid, 'the session records the provider session id').toBeTruthy();
  return sid ?? '';
}

function logoutClaims(sid: string, sub: string): Record<string, unknown> {
  const iat = nowSeconds();
  return { iss: ISSUER, aud: CLIENT_ID, iat, exp: iat + 120, jti: randomBytes(12).toString('base64url'), events: { [EVENT]: {} }, sid, sub };
}

/** A JWT signed with the provider's own key (its kid); `header` replaces the typ. */
async function withProviderKey(claims: Record<string, unknown>, header: { typ?: string } = { typ: 'logout+jwt' }): Promise<string> {
  const key = await importJWK(SIGNING_JWK, 'RS256');
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: SIGNING_JWK.kid, ...header }).sign(key);
}

async function postLogoutToken(page: Page, token: string) {
  return page.context().request.post(BACKCHANNEL_LOGOUT_PATH, { form: { logout_token: token }, maxRedirects: 0 });
}

async function expectRefused(page: Page, token: string): Promise<void> {
  const response = await postLogoutToken(page, token);
  expect(response.status()).toBe(400);
  expect(await response.json()).toEqual({ error: 'invalid_request' });
}

test.describe('OpenID Connect Back-Channel Logout', () => {
  for (const strategy of STRATEGIES) {
    test(`ending the provider session signs the ${strategy} session out`, async ({ page }) => {
      const login = freshLogin(`bcl-${strategy}`);
      await signInThroughProvider(page, strategy, login);
      await latestSid(login);
      await endProviderSession(page);

      // Revoked by the provider's own logout token, not by anything else.
      expect(await sessionRevocationsForEmail(providerEmail(login))).toEqual(['backchannel_logout']);
      await expectSignedOut(page);
    });
  }

  test('refused logout tokens revoke nothing; a valid one revokes, and its replay is refused', async ({ page }) => {
    const login = freshLogin('bcl-checks');
    await signInThroughProvider(page, 'jwt', login);
    const sid = await latestSid(login);
    const valid = () => logoutClaims(sid, login);

    const otherKey = await generateKeyPair('RS256');
    const forged = await new SignJWT(valid()).setProtectedHeader({ alg: 'RS256', kid: SIGNING_JWK.kid, typ: 'logout+jwt' }).sign(otherKey.privateKey);
    await expectRefused(page, forged);
    await expectRefused(page, await withProviderKey({ ...valid(), aud: 'another-client' }));
    await expectRefused(page, await withProviderKey({ ...valid(), iss: 'http://127.0.0.1:1' }));
    await expectRefused(page, await withProviderKey({ ...valid(), nonce: 'n-0S6_WzA2Mj' }));
    await expectRefused(page, await withProviderKey({ ...valid(), iat: nowSeconds() - 3600 }));
    await expectRefused(page, await withProviderKey({ ...valid(), iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 }));
    await expectRefused(page, await withProviderKey({ ...valid(), iat: nowSeconds() + 3600, exp: nowSeconds() + 7200 }));
    const { events: _events, ...withoutEvents } = valid();
    await expectRefused(page, await withProviderKey(withoutEvents));
    await expectRefused(page, await withProviderKey({ ...valid(), events: { [EVENT]: 'yes' } }));
    const { jti: _jti, ...withoutJti } = valid();
    await expectRefused(page, await withProviderKey(withoutJti));
    const { sid: _sid, sub: _sub, ...withoutSubject } = valid();
    await expectRefused(page, await withProviderKey(withoutSubject));
    await expectRefused(page, await withProviderKey(valid(), { typ: 'JWT' }));
    // The spec's encoding only: the same valid token as JSON is refused.
    const asJson = await page.context().request.post(BACKCHANNEL_LOGOUT_PATH, { data: { logout_token: await withProviderKey(valid()) } });
    expect(asJson.status()).toBe(400);
    await expectSignedIn(page, 'jwt');

    const accepted = await withProviderKey(valid());
    const response = await postLogoutToken(page, accepted);
    expect(response.status()).toBe(200);
    expect(response.headers()['cache-control']).toBe('no-store');
    await expectSignedOut(page);

    // Signing in again within the same provider session gets a session with the same sid:
    // replaying the accepted token must not end it.
    await signInThroughProvider(page, 'database', login, false);
    expect(await latestSid(login)).toBe(sid);
    await expectRefused(page, accepted);
    await expectSignedIn(page, 'database');
  });

  for (const strategy of STRATEGIES) {
    test(`signing the ${strategy} session out ends the provider session too (RP-initiated logout)`, async ({ page }) => {
      const login = freshLogin(`rpl-${strategy}`);
      await signInThroughProvider(page, strategy, login);
      // Read now: signing a database session out deletes its row.
      const sid = await latestSid(login);
      const toProvider = page.waitForRequest((request) => request.url().startsWith(`${ISSUER}/session/end?`));
      await page.getByRole('button', { name: 'Sign out' }).click();
      const logoutRequest = new URL((await toProvider).url());
      // The ID token of this provider session as the hint, the registered way back, a state.
      const hint = logoutRequest.searchParams.get('id_token_hint') ?? '';
      const hintClaims = JSON.parse(Buffer.from(hint.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
      expect(hintClaims).toMatchObject({ iss: ISSUER, aud: CLIENT_ID, sub: login, sid });
      expect(logoutRequest.searchParams.get('post_logout_redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/login\?signedOut=(revoked|cookie-only)$/);
      const state = logoutRequest.searchParams.get('state') ?? '';
      expect(state).toMatch(/^[\w-]{16,}$/);

      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('signedOut') === 'revoked' && url.searchParams.get('state') === state);
      await expectSignedOut(page);
      // The provider's session has ended: signing in there again asks who you are.
      await page.goto('/login');
      await page.getByRole('button', { name: PROVIDER_BUTTON }).click();
      await expect(page.locator('input[name="login"]')).toBeVisible();
    });
  }

  test('ending the provider session also revokes the API tokens exchanged from its browser session', async ({ page }) => {
    const login = freshLogin('bcl-tokens');
    await signInThroughProvider(page, 'jwt', login);
    const sid = await latestSid(login);
    // The browser session exchanges itself for tokens (it has just signed in: recent enough for step-up).
    const exchange = await page.request.post('/api/token', { headers: { origin: new URL(page.url()).origin, 'sec-fetch-site': 'same-origin' } });
    expect(exchange.status()).toBe(200);
    const pair = (await exchange.json()) as { access_token: string; refresh_token: string };
    const bearer = { authorization: `Bearer ${pair.access_token}` };
    expect((await page.request.get('/api/me', { headers: bearer })).status()).toBe(200);
    // The family records the provider session its browser session came from.
    expect((await sessionOriginsForEmail(providerEmail(login))).map((origin) => [origin.strategy, origin.idpSessionId])).toEqual([
      ['jwt', sid],
      ['api', sid],
    ]);

    await endProviderSession(page);

    // Both revoked by the provider's logout token: the browser session and the token family.
    expect(await sessionRevocationsForEmail(providerEmail(login))).toEqual(['backchannel_logout', 'backchannel_logout']);
    await expectSignedOut(page);
    const me = await page.request.get('/api/me', { headers: bearer });
    expect(me.status()).toBe(401);
    expect(me.headers()['www-authenticate']).toContain('error="invalid_token"');
    const refresh = await page.request.post('/api/token/refresh', { data: { refresh_token: pair.refresh_token } });
    expect(refresh.status()).toBe(401);
  });

  test('a token naming only the subject ends every session of that subject at the provider', async ({ page }) => {
    const login = freshLogin('bcl-sub');
    await signInThroughProvider(page, 'database', login);
    const { sid: _sid, ...bySubject } = logoutClaims(await latestSid(login), login);
    const response = await postLogoutToken(page, await withProviderKey(bySubject));
    expect(response.status()).toBe(200);
    await expectSignedOut(page);
  });
});
