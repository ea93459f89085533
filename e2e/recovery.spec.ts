import type { APIRequestContext, APIResponse, Page } from '@playwright/test';
import { countUsers } from './db';
import {
  RADIO,
  STRATEGIES,
  STRONG_PASSWORD,
  expect,
  expectMe,
  expectUnauthorized,
  sessionCookies,
  signInHttp,
  test,
  uniqueEmail,
  type Strategy,
} from './fixtures';
import { linkIn, mailTo, waitForMail } from './mailbox';

// Registration with a verified address and password reset, through the real
// mail path: the server sends over SMTP to its in-process catcher, and the
// tests read it from GET /api/dev/mailbox. ASVS 5.0 V6.3.8 (no enumeration
// through registration or forgot password), V6.4 (reset links: single use,
// short-lived), V7.4.3 (a reset ends every session).

const NEW_PASSWORD = 'Quartz-harbor-willow-77';
const INVALID_LINK = 'This link has expired or was already used.';
const FINISH_SUBJECT = /^Finish signing up/;
const RESET_SUBJECT = /^Reset your/;

const inboxNotice = (email: string) => `Check your inbox: we sent a link to ${email} to finish signing up.`;
const resetNotice = (email: string) => `If an account exists for ${email}, we sent a link to reset its password.`;

/** The same link with one character of its token changed. */
function tampered(link: string): string {
  const last = link.at(-1) === 'A' ? 'B' : 'A';
  return link.slice(0, -1) + last;
}

async function fillRegistration(page: Page, user: { name: string; email: string; password: string }, strategy: Strategy) {
  await page.goto('/register');
  await page.getByLabel('Name', { exact: true }).fill(user.name);
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('radio', { name: RADIO[strategy] }).check();
}

/** 5xx responses the watched pages of the running test received; each test must end with none. */
const serverErrors: string[] = [];
test.beforeEach(() => {
  serverErrors.length = 0;
});
test.afterEach(() => {
  expect(serverErrors, 'no response was a 5xx').toEqual([]);
});

/** Records every 5xx this page receives (checked after the test). */
function refuseServerErrors(page: Page): void {
  page.on('response', (response) => {
    if (response.status() >= 500) serverErrors.push(`${response.status()} ${response.request().method()} ${response.url()}`);
  });
}

// ---- replaying a server action over HTTP (for the timing samples) ----

interface CapturedAction {
  url: string;
  headers: Record<string, string>;
  fields: [string, string][];
}

/** Submits a form in the page and captures the server action request it makes. */
async function captureAction(page: Page, submit: () => Promise<void>): Promise<CapturedAction> {
  const [request] = await Promise.all([page.waitForRequest((candidate) => candidate.method() === 'POST' && 'next-action' in candidate.headers()), submit()]);
  const headers = request.headers();
  const body = request.postDataBuffer();
  expect(body, 'the action request has a body').toBeTruthy();
  const form = await new Response(new Uint8Array(body!), { headers: { 'content-type': headers['content-type']! } }).formData();
  const fields: [string, string][] = [];
  form.forEach((value, name) => fields.push([name, typeof value === 'string' ? value : '']));
  return {
    url: request.url(),
    headers: {
      accept: headers['accept'] ?? 'text/x-component',
      'next-action': headers['next-action']!,
      'next-router-state-tree': headers['next-router-state-tree'] ?? '',
      origin: new URL(request.url()).origin,
    },
    fields,
  };
}

/** Posts the captured action again with another email; returns the response and how long it took. */
async function replayAction(request: APIRequestContext, action: CapturedAction, email: string): Promise<{ response: APIResponse; body: string; ms: number }> {
  // In the captured order: the action's arguments ("0") refer to the form fields before them.
  const multipart = new FormData();
  for (const [name, value] of action.fields) multipart.append(name, /(^|_)email$/.test(name) ? email : value);
  const started = performance.now();
  const response = await request.post(action.url, { headers: action.headers, multipart, maxRedirects: 0 });
  const body = await response.text();
  return { response, body, ms: performance.now() - started };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Samples per address kind in one round. */
const SAMPLES = 20;
/**
 * Rounds at most. The suite shares two cores with another Playwright worker, so
 * a burst of load can land on one side of a round; when the medians of a round
 * differ by more than the allowance, another round is added and the medians are
 * taken over everything so far. A real difference (an argon2id hash done for one
 * kind only costs tens of milliseconds) shows in every round and still fails.
 */
const MAX_ROUNDS = 3;

/** Equality, not speed: the medians may differ by 15 ms or 10 % of the larger median, whichever is larger. */
function timingVerdict(known: number[], unknown: number[]) {
  const [a, b] = [median(known), median(unknown)];
  const allowance = Math.max(15, 0.1 * Math.max(a, b));
  return { known: a, unknown: b, difference: Math.abs(a - b), allowance, same: Math.abs(a - b) <= allowance };
}

/**
 * Measures `sample` for known and unknown addresses in turn (the order alternates
 * from pair to pair), prints the two medians and asserts they are equal within the allowance.
 */
async function expectSameTiming(
  label: string,
  addresses: (kind: 'known' | 'unknown', index: number) => Promise<string>,
  sample: (kind: 'known' | 'unknown', email: string) => Promise<number>,
): Promise<void> {
  const timings = { known: [] as number[], unknown: [] as number[] };
  let verdict = timingVerdict([0], [0]);
  for (let round = 1; round <= MAX_ROUNDS; round += 1) {
    for (let i = 0; i < SAMPLES; i += 1) {
      const index = (round - 1) * SAMPLES + i;
      const order: ('known' | 'unknown')[] = index % 2 === 0 ? ['known', 'unknown'] : ['unknown', 'known'];
      for (const kind of order) timings[kind].push(await sample(kind, await addresses(kind, index)));
    }
    verdict = timingVerdict(timings.known, timings.unknown);
    console.log(
      `${label}: median known ${verdict.known.toFixed(1)} ms, unknown ${verdict.unknown.toFixed(1)} ms over ${timings.known.length} samples each ` +
        `(difference ${verdict.difference.toFixed(1)} ms, allowed ${verdict.allowance.toFixed(1)} ms)`,
    );
    if (verdict.same) break;
  }
  expect(verdict.difference, `${label}: medians ${verdict.known.toFixed(1)} / ${verdict.unknown.toFixed(1)} ms`).toBeLessThanOrEqual(verdict.allowance);
}

// ---- registration ----

for (const strategy of STRATEGIES) {
  test(`registration through the mailbox signs in with ${strategy}; the link works once`, async ({ page, context, request, newDevice }) => {
    refuseServerErrors(page);
    const user = { name: `Mailbox ${strategy}`, email: uniqueEmail(`verify-${strategy}`), password: STRONG_PASSWORD };
    await fillRegistration(page, user, strategy);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByRole('status')).toHaveText(inboxNotice(user.email));
    expect(await sessionCookies(context), 'no cookie before the link is used').toEqual([]);
    expect(await countUsers(user.email), 'no account before the link is used').toBe(0);

    const mail = await waitForMail(request, user.email, { subject: FINISH_SUBJECT });
    const link = linkIn(mail, '/verify-email');
    const baseURL = test.info().project.use.baseURL!;
    expect(link.startsWith(`${new URL(baseURL).origin}/verify-email#token=`), `built from APP_URL, token in the fragment: ${link}`).toBe(true);

    // Opening the link (GET) only shows the form; the fragment leaves the address bar.
    await page.goto(link);
    await expect(page.getByRole('button', { name: 'Finish sign-up' })).toBeEnabled();
    await expect(page).toHaveURL(/\/verify-email$/);
    expect(await countUsers(user.email), 'GET changed nothing').toBe(0);

    await page.getByRole('button', { name: 'Finish sign-up' }).click();
    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
    await expectMe(await page.request.get('/api/me'), { email: user.email, strategy });
    expect(await countUsers(user.email)).toBe(1);

    // The same link again, a tampered one, and one without a token: a clear page, never a 500.
    const other = await newDevice();
    refuseServerErrors(other.page);
    for (const target of [link, tampered(link)]) {
      // A page of its own each: the two links differ only in the fragment, which would not load a new document.
      const tab = await other.context.newPage();
      refuseServerErrors(tab);
      await tab.goto(target);
      await tab.getByRole('button', { name: 'Finish sign-up' }).click();
      await expect(tab.getByRole('main').getByRole('alert')).toContainText(INVALID_LINK);
      await expect(tab.getByRole('link', { name: /new link/ })).toHaveAttribute('href', '/register');
      expect(await sessionCookies(other.context)).toEqual([]);
    }
    await other.page.goto('/verify-email');
    await expect(other.page.getByRole('main').getByRole('alert')).toContainText(INVALID_LINK);
  });
}

test('two links for one new address: the second finds the account and says so', async ({ page, request, newDevice }) => {
  refuseServerErrors(page);
  const user = { name: 'Twice', email: uniqueEmail('twice'), password: STRONG_PASSWORD };
  const links: string[] = [];
  for (let i = 0; i < 2; i += 1) {
    const earlier = (await mailTo(request, user.email)).map((mail) => mail.id);
    await fillRegistration(page, user, 'database');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByRole('status')).toHaveText(inboxNotice(user.email));
    links.push(linkIn(await waitForMail(request, user.email, { subject: FINISH_SUBJECT, exclude: earlier }), '/verify-email'));
  }
  expect(new Set(links).size).toBe(2);
  await page.goto(links[1]!);
  await page.getByRole('button', { name: 'Finish sign-up' }).click();
  await expect(page).toHaveURL(/\/dashboard$/);

  const second = await newDevice();
  refuseServerErrors(second.page);
  await second.page.goto(links[0]!);
  await second.page.getByRole('button', { name: 'Finish sign-up' }).click();
  await expect(second.page.getByRole('main').getByRole('alert')).toContainText('already registered');
  expect(await countUsers(user.email)).toBe(1);
});

test('registering a taken address looks exactly like a new one: status, body, cookies and time', async ({ page, context, request, newUser, newDevice }) => {
  test.setTimeout(180_000);
  const known = await newUser('taken');
  const fresh = uniqueEmail('not-taken');

  // Through the browser: the same status line, the same page, no cookie.
  const seen: { text: string; cookies: string[]; status: number }[] = [];
  for (const email of [known.email, fresh]) {
    const device = await newDevice();
    await fillRegistration(device.page, { name: 'Same Answer', email, password: STRONG_PASSWORD }, 'jwt');
    const [response] = await Promise.all([
      device.page.waitForResponse((candidate) => candidate.request().method() === 'POST' && new URL(candidate.url()).pathname === '/register'),
      device.page.getByRole('button', { name: 'Create account' }).click(),
    ]);
    await expect(device.page.getByRole('status')).toHaveText(inboxNotice(email));
    const text = (await device.page.locator('main').innerText()).replaceAll(email, '<email>');
    seen.push({ text, cookies: (await device.context.cookies()).map((cookie) => cookie.name), status: response.status() });
  }
  expect(seen[0]).toEqual(seen[1]);
  expect(seen[0]!.cookies).toEqual([]);

  // The taken address is told someone tried, with a way to sign in or reset; no link that creates anything.
  const notice = await waitForMail(request, known.email, { subject: /tried to create an account/ });
  expect(notice.text).toContain('Someone tried to create an account with this address');
  expect(linkIn(notice, '/forgot-password')).toBeTruthy();
  expect(notice.text).not.toContain('#token=');
  await waitForMail(request, fresh, { subject: FINISH_SUBJECT });

  // Over HTTP: the captured action, replayed for taken and new addresses in turn.
  await fillRegistration(page, { name: 'Timing', email: uniqueEmail('capture'), password: STRONG_PASSWORD }, 'database');
  const action = await captureAction(page, () => page.getByRole('button', { name: 'Create account' }).click());
  // A taken address of its own per sample (created directly in the database, before measuring), so no per-address limit is reached.
  const taken = await Promise.all(Array.from({ length: SAMPLES * MAX_ROUNDS }, (_, index) => newUser(`taken-${index}`)));
  await expectSameTiming(
    'register',
    async (kind, index) => (kind === 'known' ? taken[index]!.email : uniqueEmail(`new-${index}`)),
    async (_kind, email) => {
      const { response, body, ms } = await replayAction(request, action, email);
      expect(response.status()).toBe(200);
      expect(response.headers()['set-cookie']).toBeUndefined();
      expect(body).toContain(inboxNotice(email));
      // Each mail is delivered before the next sample, so background delivery never lands inside a measurement.
      await waitForMail(request, email);
      return ms;
    },
  );
  expect(await sessionCookies(context)).toEqual([]);
});

// ---- password reset ----

test('forgot password answers the same for known and unknown addresses, in the same time', async ({ page, request, newUser, newDevice }) => {
  test.setTimeout(120_000);
  const known = await newUser('forgot');
  const unknown = uniqueEmail('forgot-unknown');

  const seen: { text: string; cookies: string[]; status: number }[] = [];
  for (const email of [known.email, unknown]) {
    const device = await newDevice();
    await device.page.goto('/login');
    await device.page.getByRole('link', { name: 'Forgot password?' }).click();
    await expect(device.page).toHaveURL(/\/forgot-password$/);
    await device.page.getByLabel('Email', { exact: true }).fill(email);
    const [response] = await Promise.all([
      device.page.waitForResponse((candidate) => candidate.request().method() === 'POST'),
      device.page.getByRole('button', { name: 'Send reset link' }).click(),
    ]);
    await expect(device.page.getByRole('status')).toHaveText(resetNotice(email));
    const text = (await device.page.locator('main').innerText()).replaceAll(email, '<email>');
    seen.push({ text, cookies: (await device.context.cookies()).map((cookie) => cookie.name), status: response.status() });
  }
  expect(seen[0]).toEqual(seen[1]);
  await waitForMail(request, known.email, { subject: RESET_SUBJECT });
  expect(await mailTo(request, unknown), 'no mail to an unknown address').toEqual([]);

  await page.goto('/forgot-password');
  await page.getByLabel('Email', { exact: true }).fill(uniqueEmail('capture'));
  const action = await captureAction(page, () => page.getByRole('button', { name: 'Send reset link' }).click());
  const accounts = await Promise.all(Array.from({ length: SAMPLES * MAX_ROUNDS }, (_, index) => newUser(`forgot-${index}`)));
  await expectSameTiming(
    'forgot password',
    async (kind, index) => (kind === 'known' ? accounts[index]!.email : uniqueEmail(`forgot-new-${index}`)),
    async (kind, email) => {
      const { response, body, ms } = await replayAction(request, action, email);
      expect(response.status()).toBe(200);
      expect(response.headers()['set-cookie']).toBeUndefined();
      expect(body).toContain(resetNotice(email));
      // Let a known address's mail be delivered before the next sample.
      if (kind === 'known') await waitForMail(request, email, { subject: RESET_SUBJECT });
      return ms;
    },
  );
});

test('a reset signs out every session: a database session, a JWT session and an API token family', async ({
  page,
  request,
  newUser,
  newDevice,
  signIn,
}) => {
  refuseServerErrors(page);
  const user = await newUser('reset');
  const databaseDevice = await newDevice();
  await signIn(databaseDevice.page, user, 'database');
  const jwtDevice = await newDevice();
  await signIn(jwtDevice.page, user, 'jwt');
  const issued = await request.post('/api/token', { data: { email: user.email, password: user.password } });
  expect(issued.status()).toBe(200);
  const pair = (await issued.json()) as { access_token: string; refresh_token: string };
  const bearer = { authorization: `Bearer ${pair.access_token}` };
  await expectMe(await databaseDevice.context.request.get('/api/me'), { email: user.email, strategy: 'database' });
  await expectMe(await jwtDevice.context.request.get('/api/me'), { email: user.email, strategy: 'jwt' });
  expect((await request.get('/api/me', { headers: bearer })).status()).toBe(200);

  await page.goto('/forgot-password');
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await expect(page.getByRole('status')).toHaveText(resetNotice(user.email));
  const link = linkIn(await waitForMail(request, user.email, { subject: RESET_SUBJECT }), '/reset-password');
  expect(link).toMatch(/\/reset-password#token=[A-Za-z0-9_-]{43}$/);

  await page.goto(link);
  await expect(page).toHaveURL(/\/reset-password$/);
  // The policy is the change-password one: a refused password leaves the link usable.
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page.getByText('Password must be at least 10 characters.')).toBeVisible();
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page).toHaveURL(/\/login\?reset=done$/);
  await expect(page.getByRole('status')).toContainText('Your password was changed and every session of the account was signed out');

  // Every credential the account had is refused now.
  await expectUnauthorized(await databaseDevice.context.request.get('/api/me'));
  await expectUnauthorized(await jwtDevice.context.request.get('/api/me'));
  expect((await request.get('/api/me', { headers: bearer })).status()).toBe(401);
  const refreshed = await request.post('/api/token/refresh', { data: { refresh_token: pair.refresh_token } });
  expect(refreshed.status()).toBe(401);

  // Old password out, new one in; the dashboard says what the reset did.
  await signInHttp(page.context().request, { email: user.email, password: user.password, strategy: 'database' });
  await expectUnauthorized(await page.context().request.get('/api/me'));
  await signInHttp(page.context().request, { email: user.email, password: NEW_PASSWORD, strategy: 'database' });
  await expectMe(await page.context().request.get('/api/me'), { email: user.email, strategy: 'database' });
  await page.goto('/dashboard');
  await expect(page.getByTestId('recent-activity')).toContainText(/password\.reset.*3 sessions revoked/);

  // The used link, a tampered one, and none at all: the clear page, never a 500.
  const other = await newDevice();
  refuseServerErrors(other.page);
  for (const target of [link, tampered(link)]) {
    const tab = await other.context.newPage();
    refuseServerErrors(tab);
    await tab.goto(target);
    await tab.getByLabel('New password', { exact: true }).fill('Another-fine-pass-99');
    await tab.getByRole('button', { name: 'Set new password' }).click();
    await expect(tab.getByRole('main').getByRole('alert')).toContainText(INVALID_LINK);
    await expect(tab.getByRole('link', { name: 'Request a new link' })).toHaveAttribute('href', '/forgot-password');
  }
  await other.page.goto('/reset-password');
  await expect(other.page.getByRole('main').getByRole('alert')).toContainText(INVALID_LINK);
  await signInHttp(other.context.request, { email: user.email, password: 'Another-fine-pass-99', strategy: 'jwt' });
  await expectUnauthorized(await other.context.request.get('/api/me'));
});

// ---- the development mailbox ----

test('the development mailbox lists caught mail, newest first, never cached', async ({ page, request }) => {
  const email = uniqueEmail('mailbox');
  await fillRegistration(page, { name: 'Mailbox', email, password: STRONG_PASSWORD }, 'database');
  await page.getByRole('button', { name: 'Create account' }).click();
  await waitForMail(request, email);

  const api = await request.get(`/api/dev/mailbox?to=${encodeURIComponent(email.toUpperCase())}`);
  expect(api.status()).toBe(200);
  expect(api.headers()['cache-control']).toContain('no-store');
  const { messages } = (await api.json()) as { messages: Record<string, unknown>[] };
  expect(messages).toHaveLength(1);
  expect(Object.keys(messages[0]!).sort()).toEqual(['id', 'sentAt', 'subject', 'text', 'to']);
  expect(messages[0]!.to).toBe(email);

  const response = await page.goto('/dev/mailbox');
  expect(response?.status()).toBe(200);
  expect(response?.headers()['cache-control']).toContain('no-store');
  const article = page.getByRole('article').filter({ hasText: email }).first();
  await expect(article.getByRole('heading', { name: FINISH_SUBJECT })).toBeVisible();
  await expect(article.getByRole('link', { name: /\/verify-email#token=/ })).toBeVisible();
});
