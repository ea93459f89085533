import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Locator, Page } from '@playwright/test';
import {
  COOKIE,
  RATE_LIMIT_WINDOW_SECONDS,
  STRONG_PASSWORD,
  awayFromWindowEdge,
  expect,
  expectSignedIn,
  onlySessionCookie,
  postFormFrom,
  test,
  uniqueEmail,
} from './fixtures';
import { LAB_RUNS, insertUser, labLeftovers, sessionRecordsForEmail } from './db';

// The comparison lab (/compare) run in Chromium against the production build:
// every figure present and consistent with the server's configuration, the
// downstream service (started next to the app by scripts/test.mjs) called for
// real, the XSS and CSRF demo frames' outcomes observed in this browser, the
// throwaway accounts gone afterwards, the visitor's own session untouched.
// Lab runs from one address take turns (a second one is refused while the first
// goes on), and the leftover check must not see another test's run in flight:
// every test that runs experiments from this machine's address holds the
// LAB_RUNS lock, and the tests of this file run one after another.
test.describe.configure({ mode: 'default', lock: LAB_RUNS });

const LAB_DOMAIN = 'lab.invalid';
const ROOT = path.resolve(__dirname, '..');
/** What the outage and scaling experiments read, when a command-line run has recorded it. */
const recorded = (name: string) => fs.existsSync(path.join(ROOT, 'data', 'results', name));

/** The cells of a table row (row header first). */
async function cells(row: Locator): Promise<string[]> {
  return (await row.locator('th, td').allTextContents()).map((text) => text.trim());
}

async function runExperiment(page: Page, title: string): Promise<Locator> {
  const section = page.getByRole('region', { name: title, exact: true });
  await section.getByRole('button', { name: `Run ${title}` }).click();
  await expect(section.getByRole('status')).toHaveText('Done.', { timeout: 45_000 });
  return section;
}

test('the lab runs every experiment on throwaway accounts, with figures that match this server', async ({ page, baseURL, signIn, strongPasswordHash }) => {
  test.setTimeout(240_000);
  // The visitor: an id as long as the throwaway account's (a cuid, 25 characters), so their real JWT cookie
  // is exactly as long as the one the lab has this server issue.
  const visitor = { id: `c${randomBytes(12).toString('hex')}`, name: 'Lab visitor', email: uniqueEmail('lab'), password: STRONG_PASSWORD };
  await insertUser({ ...visitor, passwordHash: strongPasswordHash });
  await signIn(page, visitor, 'jwt');
  const own = await onlySessionCookie(page.context(), 'jwt');
  const ownCookieBytes = Buffer.byteLength(`${own.name}=${own.value}`);

  await page.goto('/');
  await page.getByRole('link', { name: 'comparison lab' }).click();
  await expect(page).toHaveURL(/\/compare$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Comparison lab' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Run all' })).toBeEnabled();
  const mode = (await page.getByTestId('revocation-mode').textContent())?.trim() ?? '';
  expect(['strict', 'pushed', 'stateless']).toContain(mode);
  if (process.env.REVOCATION_MODE) expect(mode).toBe(process.env.REVOCATION_MODE);
  const store = (await page.locator('dt:text-is("Session store") + dd').textContent())?.trim() ?? '';
  expect(['database', 'redis']).toContain(store);

  // ---- revocation ----
  const revocation = await runExperiment(page, 'Revocation');
  const claim = revocation.getByTestId('claim-revocation');
  await expect(claim.getByRole('img', { name: /How long a revoked copy stays usable/ })).toBeVisible();
  const table = claim.getByRole('table');
  const row = (key: string) => table.getByTestId(`row-${key}`);
  for (const key of ['database-server', 'jwt-server', 'jwt-offline', 'access-server', 'access-offline', 'refresh-server']) {
    expect((await cells(row(key)))[1], `${key}: accepted before revocation (control)`).toBe('yes');
  }
  // A database session is refused after sign-out in every mode; so is a revoked family's refresh token.
  expect((await cells(row('database-server')))[2]).toMatch(/^refused after [\d.]+ m?s$/);
  expect((await cells(row('refresh-server')))[2]).toMatch(/^refused after /);
  // Signed tokens on this server: refused at once unless the server only checks signatures.
  const signedOnServer = mode === 'stateless' ? /^still accepted after / : /^refused after /;
  expect((await cells(row('jwt-server')))[2]).toMatch(signedOnServer);
  expect((await cells(row('access-server')))[2]).toMatch(signedOnServer);
  // A service holding only the public key has no store to ask: accepted until exp.
  expect((await cells(row('jwt-offline')))[2]).toMatch(/^still accepted after /);
  expect((await cells(row('access-offline')))[3]).toMatch(/^until exp \(/);
  await expect(claim.getByTestId('column-database-server')).toContainText('refused after');
  await expect(claim.getByTestId('verdict')).toContainText(`REVOCATION_MODE=${mode}`);
  await expect(claim.getByTestId('verdict')).toContainText(mode === 'stateless' ? 'True here' : 'Both were revocable here');
  await expect(claim.getByTestId('caveat')).not.toBeEmpty();

  // ---- Run all: every experiment in one run, then the summary of every claim ----
  await page.getByRole('button', { name: 'Run all' }).click();
  const summary = page.getByRole('region', { name: 'Every claim at a glance' });
  await expect(summary).toBeVisible({ timeout: 150_000 });
  for (const section of await page.getByTestId(/^experiment-/).all()) await expect(section.getByRole('status')).toHaveText('Done.');
  const summaryRow = (claimId: string) => summary.getByTestId(`summary-${claimId}`);
  await expect(summaryRow('revocation').getByRole('cell').nth(0)).toContainText('Database session — this server: refused after');
  await expect(summaryRow('revocation').getByRole('cell').nth(2)).toContainText(`REVOCATION_MODE=${mode}`);
  await expect(summaryRow('size-lightweight').getByRole('cell').nth(0)).toContainText(`${Buffer.byteLength(`${COOKIE.database}=`) + 43} bytes`);
  await expect(summaryRow('size-lightweight').getByRole('cell').nth(1)).toContainText(`${ownCookieBytes} bytes`);
  await expect(summaryRow('size-growth').getByRole('cell').nth(0)).toHaveText('—');
  await expect(summaryRow('cost').getByRole('cell').nth(0)).toContainText(/Database session cookie: [+−][\d.]+ m?s per request/);
  await expect(summaryRow('cost').getByRole('cell').nth(1)).toContainText(/JWT cookie: [+−][\d.]+ m?s per request/);
  await expect(summaryRow('hybrid').getByRole('cell').nth(0)).toContainText(/Database session: [\d.]+ (µs|ms) per check/);
  await expect(summaryRow('hybrid').getByRole('cell').nth(1)).toContainText(/JWT \+ session check \(sid\): [\d.]+ (µs|ms) per check/);

  // ---- horizontal scaling: a single instance says so ----
  const scaling = page.getByRole('region', { name: 'Horizontal scaling', exact: true }).getByTestId('claim-scaling');
  await expect(scaling.getByTestId('verdict')).toContainText('Not observable here: this server runs as a single instance');
  await expect(scaling.getByTestId('verdict')).toContainText(
    recorded('bench-cluster.json') ? /the last cluster benchmark|cluster benchmark file .* is not valid/ : 'no cluster benchmark recorded yet (run `npm run bench -- --cluster`)',
  );
  for (const key of ['database', 'jwt', 'api']) await expect(scaling.getByTestId(`column-${key}`)).toContainText('accepted (single instance)');
  const acceptance = scaling.getByRole('table').first();
  await expect(acceptance.getByRole('row')).toHaveCount(3); // header, this server, the reads
  const reads = await cells(acceptance.getByTestId('row-reads'));
  for (const value of reads.slice(1)) expect(Number(value)).toBeGreaterThanOrEqual(0);
  // The database session is read from the store on every request, whatever the mode.
  expect(Number(reads[1])).toBeGreaterThan(0);
  await expect(scaling.getByRole('img', { name: /Database reads per request on this instance/ })).toBeVisible();
  await expect(summaryRow('scaling').getByRole('cell').nth(0)).toContainText('accepted (single instance)');

  // ---- database outage: the outage test's recorded result, or the command that records it ----
  const outage = page.getByRole('region', { name: 'Database outage', exact: true }).getByTestId('claim-outage');
  if (recorded('outage.json')) {
    await expect(outage.getByTestId('verdict')).toContainText(/recorded \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC by the outage test|is not valid/);
  } else {
    await expect(outage.getByTestId('verdict')).toContainText('No outage test recorded yet: run `npm run compare -- --outage` or `npm test -- --only=outage`');
    await expect(outage.getByTestId('column-database')).toContainText('not recorded yet');
  }
  await expect(outage.getByTestId('caveat')).toContainText(`REVOCATION_MODE=${mode}) is not stopped for this`);

  // ---- size on the wire ----
  const size = page.getByRole('region', { name: 'Size on the wire', exact: true });
  const light = size.getByTestId('claim-size-lightweight');
  await expect(light.getByRole('img', { name: /Cookie bytes per request/ })).toBeVisible();
  const jwtBytes = Number((await cells(light.getByTestId('row-jwt')))[1]);
  const databaseBytes = Number((await cells(light.getByTestId('row-database')))[1]);
  expect(jwtBytes, 'the lab issued a JWT cookie of the size a real sign-in gets').toBe(ownCookieBytes);
  expect(databaseBytes).toBe(Buffer.byteLength(`${COOKIE.database}=`) + 43);
  await expect(light.getByTestId('column-jwt')).toContainText(`${jwtBytes} bytes`);
  for (const key of ['database', 'jwt']) expect((await cells(light.getByTestId(`row-${key}`)))[2]).toMatch(/^[\d.]+ m?s$/);

  const growth = size.getByTestId('claim-size-growth');
  await expect(growth.getByRole('img', { name: /Median request time by cookie size/ })).toBeVisible();
  await expect(growth.getByRole('img', { name: /Cookie bytes against the limits/ })).toBeVisible();
  const growthRow = (label: string) => growth.getByRole('row', { name: new RegExp(`^${label.replace(/[.+]/g, '\\$&')}\\b`) });
  const asIssued = await cells(growthRow('JWT as issued'));
  expect(Number(asIssued[1])).toBe(ownCookieBytes);
  const half = await cells(growthRow('JWT + 0.5 KB claims'));
  expect(Number(half[1])).toBeGreaterThan(ownCookieBytes);
  expect(half[4]).toBe('kept');
  expect(half[5]).toBe('200');
  const eight = await cells(growthRow('JWT + 8 KB claims'));
  expect(Number(eight[1])).toBeGreaterThan(4096);
  expect(eight[4]).toBe('dropped (over 4096 bytes)');
  expect(eight[2]).toMatch(/^[\d.]+ m?s$/);
  expect(Number(eight[3])).toBeGreaterThan(0);
  const oversize = await cells(growthRow('JWT + 16 KB claims'));
  expect(Number(oversize[1])).toBeGreaterThan(16384);
  expect(oversize[5]).toBe('431');
  await expect(growth.getByTestId('verdict')).toContainText('got 431');
  await expect(growth.getByTestId('verdict')).toContainText('over 4096 bytes');

  // ---- server cost per request ----
  const cost = page.getByRole('region', { name: 'Server cost per request', exact: true }).getByTestId('claim-cost');
  await expect(cost.getByRole('img', { name: /Added time per request over the bare route/ })).toBeVisible();
  await expect(cost.getByRole('img', { name: /Bytes stored per session/ })).toBeVisible();
  for (const key of ['database', 'jwt', 'api']) {
    // Signed: on a busy machine a median can come out below the bare route's.
    await expect(cost.getByTestId(`column-${key}`)).toContainText(/[+−][\d.]+ m?s per request/);
    const timed = await cells(cost.getByTestId(`row-${key}`));
    expect(timed[1], `${key}: median /api/me`).toMatch(/^[\d.]+ m?s$/);
    expect(timed[4], `${key}: verify() in process`).toMatch(/^[\d.]+ (µs|ms) \(/);
    expect(timed[6], `${key}: every /api/me answered 200 (control)`).toMatch(/^0 of [1-9]\d*$/);
  }
  expect((await cells(cost.getByTestId('row-bare')))[3]).toBe('0 reads');
  expect((await cells(cost.getByTestId('row-database')))[5]).toBe('— (opaque token)');
  expect((await cells(cost.getByTestId('row-jwt')))[5]).toMatch(/^[\d.]+ (µs|ms)$/);
  if (store === 'database') {
    // What each kind reads per request in this mode: the session row unless pushed mode remembers it; the JWT's sid only in strict mode.
    expect((await cells(cost.getByTestId('row-database')))[3]).toBe(mode === 'pushed' ? '0 reads' : '1 read');
    expect((await cells(cost.getByTestId('row-jwt')))[3]).toBe(mode === 'strict' ? '1 read' : '0 reads');
    expect((await cells(cost.getByTestId('row-api')))[3]).toBe(mode === 'strict' ? '1 read' : '0 reads');
  }
  const storedBytes = async (key: string) => {
    const stored = await cells(cost.getByTestId(`row-stored-${key}`));
    expect(stored[3], `${key}: per million users`).toMatch(/^[\d.]+ (MB|GB)$/);
    return Number(stored[2]);
  };
  const databaseStored = await storedBytes('database');
  const jwtStored = await storedBytes('jwt');
  expect(jwtStored).toBeGreaterThan(0);
  // The database session's row also holds the hash of its cookie token (43 characters).
  expect(databaseStored).toBeGreaterThan(jwtStored);
  await expect(cost.getByTestId('row-stored-jwt')).toContainText('session record (sid)');
  const noBench = cost.getByTestId('row-bench-none');
  if (await noBench.count()) await expect(noBench).toContainText('npm run bench');
  else await expect(cost.getByRole('table', { name: /^Benchmark run of / })).toBeVisible();
  await expect(cost.getByTestId('verdict')).toContainText(
    mode === 'strict' ? 'Not here: with REVOCATION_MODE=strict the JWT reads the store' : mode === 'stateless' ? 'Partly true here' : 'neither reads the store',
  );
  await expect(cost.getByTestId('caveat')).not.toBeEmpty();

  // ---- JWT tied to a session ----
  const hybrid = page.getByRole('region', { name: 'JWT tied to a session', exact: true }).getByTestId('claim-hybrid');
  await expect(hybrid.getByRole('img', { name: /Cost of one check, in process/ })).toBeVisible();
  await expect(hybrid.getByRole('img', { name: /How long the JWT stays usable after its session is revoked/ })).toBeVisible();
  for (const key of ['jwt-signature', 'jwt-sid', 'database']) await expect(hybrid.getByTestId(`column-${key}`)).toContainText(/[\d.]+ (µs|ms) per check/);
  // The link: the JWT's sid is the id of the session record shown next to it, revoked by the run.
  const sid = (await cells(hybrid.getByTestId('row-claim-sid')))[1];
  expect(sid).toMatch(/^[A-Za-z0-9_-]{10,}$/);
  expect(await cells(hybrid.getByTestId('row-record-id'))).toEqual(['id', sid, sid]);
  expect(await cells(hybrid.getByTestId('row-record-kind'))).toEqual(['kind', 'jwt', 'jwt']);
  const revokedAt = await cells(hybrid.getByTestId('row-record-revokedAt'));
  expect(revokedAt[1]).toBe('null');
  expect(revokedAt[2]).toMatch(/^\d{4}-\d\d-\d\dT/);
  if (store === 'database') {
    expect((await cells(hybrid.getByTestId('row-check-signature')))[2]).toBe('0 reads');
    expect((await cells(hybrid.getByTestId('row-check-signature-session')))[2]).toBe('1 read');
  }
  expect((await cells(hybrid.getByTestId('row-jwt-server')))[1]).toBe('yes');
  expect((await cells(hybrid.getByTestId('row-jwt-server')))[2]).toMatch(signedOnServer);
  expect((await cells(hybrid.getByTestId('row-jwt-offline')))[2]).toMatch(/^still accepted after /);
  await expect(hybrid.getByTestId('verdict')).toContainText(mode === 'stateless' ? 'Linked but not enforced here' : `True here, and it pays: the JWT carries sid and REVOCATION_MODE=${mode}`);
  await expect(hybrid.getByTestId('caveat')).not.toBeEmpty();

  // ---- across origins: the downstream service (started next to the app by scripts/test.mjs) called for real ----
  const across = page.getByRole('region', { name: 'Across origins', exact: true }).getByTestId('claim-downstream');
  await expect(across.getByTestId('column-token')).toContainText('downstream: accepted (200)');
  await expect(across.getByTestId('column-session')).toContainText('downstream: refused (401)');
  expect((await cells(across.getByTestId('row-session-app')))[1]).toBe('200');
  expect((await cells(across.getByTestId('row-preflight-app')))[2]).toBe(new URL(baseURL!).origin);
  expect((await cells(across.getByTestId('row-preflight-other')))[1]).toBe('403');
  await expect(across.getByTestId('verdict')).toContainText('True here');

  // ---- XSS: the demo frame's report (localStorage read, HttpOnly cookie unreadable but used) ----
  const xss = page.getByRole('region', { name: 'XSS and localStorage', exact: true });
  await expect(xss.getByTestId('claim-xss-server').getByTestId('verdict')).toContainText('HttpOnly cookies');
  const xssBrowser = xss.getByTestId('claim-xss-browser');
  await expect(xssBrowser).toBeVisible({ timeout: 30_000 });
  expect((await cells(xssBrowser.getByTestId('row-token-read')))[1]).toBe('yes');
  expect((await cells(xssBrowser.getByTestId('row-cookie-read')))[1]).toBe('no');
  expect((await cells(xssBrowser.getByTestId('row-cookie-used')))[1]).toBe('200');
  await expect(xssBrowser.getByTestId('verdict')).toContainText('True: the injected script read the token');
  // Nothing of the visitor's: the lab page's own storage is untouched.
  expect(await page.evaluate(() => localStorage.length)).toBe(0);

  // ---- CSRF: forged forms refused in the browser, each defence named; Bearer never attached ----
  const csrf = page.getByRole('region', { name: 'Cross-site request forgery', exact: true });
  const csrfServer = csrf.getByTestId('claim-csrf');
  await expect(csrfServer.getByTestId('verdict')).toContainText('Not on this server');
  expect((await cells(csrfServer.getByTestId('row-cookie-same-site')))[4]).toBe('refused by the origin check (403)');
  expect((await cells(csrfServer.getByTestId('row-bearer-forged')))[4]).toBe('refused: no valid credential attached (401)');
  const csrfBrowser = csrf.getByTestId('claim-csrf-browser');
  await expect(csrfBrowser).toBeVisible({ timeout: 30_000 });
  const cross = await cells(csrfBrowser.getByTestId('row-browser-cross-site'));
  expect(cross[1], 'SameSite: the browser did not attach the cookie cross-site').toBe('no');
  expect(cross[4]).toMatch(/^refused/);
  const sameSite = await cells(csrfBrowser.getByTestId('row-browser-same-site'));
  expect(sameSite[1], 'same site: the cookie was attached').toBe('yes');
  expect(sameSite[3]).toBe('refused');
  expect(sameSite[4]).toBe('refused by the origin check (403)');
  expect(cross[2]).toBe('absent');
  await expect(csrfBrowser.getByTestId('verdict')).toContainText('did not attach the cookie (SameSite)');
  await expect(csrfBrowser.getByTestId('verdict')).toContainText("the server's origin check refused the request");
  // The demo cookie is the demo's, scoped to its endpoint; the only session cookie is still the visitor's own.
  const cookies = await page.context().cookies();
  expect(cookies.filter((cookie) => cookie.name.startsWith('sot.') && cookie.name !== 'sot.csrf-demo').map((cookie) => cookie.value)).toEqual([own.value]);
  const demo = cookies.find((cookie) => cookie.name === 'sot.csrf-demo');
  expect(demo?.httpOnly).toBe(true);
  expect(demo?.sameSite).toBe('Lax');
  expect(demo?.path).toBe('/api/compare/csrf-demo');

  // ---- nothing left behind, nothing of the visitor's touched ----
  expect(await labLeftovers(LAB_DOMAIN)).toEqual({ users: 0, sessions: 0, auditEvents: 0 });
  expect(await sessionRecordsForEmail(visitor.email)).toEqual([{ strategy: 'jwt', sessionToken: null, revoked: false }]);
  expect((await onlySessionCookie(page.context(), 'jwt')).value).toBe(own.value);
  await expectSignedIn(page, 'jwt');
});

test('POST /api/compare/run: same origin only, one known experiment, 400 otherwise', async ({ page, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  const run = (data: unknown, headers: Record<string, string>) => page.request.post('/api/compare/run', { data, headers });
  const crossSite = await run({ experiment: 'size' }, { origin: 'https://evil.example' });
  expect(crossSite.status()).toBe(403);
  expect(await crossSite.json()).toEqual({ error: 'forbidden' });
  // A request that does not say where it comes from is not the lab's page either.
  expect((await run({ experiment: 'size' }, {})).status()).toBe(403);
  for (const data of [{ experiment: 'everything' }, { experiment: 'size', extra: 1 }, {}, 'size']) {
    const response = await run(data, { origin });
    expect(response.status(), JSON.stringify(data)).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid_request' });
  }
});

test('every address has its budget of runs: over it, 429 with Retry-After, and the page says why', async ({ page, baseURL }) => {
  // Invalid bodies count too (the limit is checked first) and start no run: the budget is used up cheaply,
  // from an address of its own so no other test's runs are counted.
  const limit = Number(process.env.RATE_LIMIT_COMPARE_PER_IP ?? 20);
  const from = '127.0.0.3';
  const origin = new URL(baseURL!).origin;
  await awayFromWindowEdge();
  for (let sent = 0; sent < limit; sent += 1) {
    const response = await postFormFrom(from, '/api/compare/run', { experiment: 'none' }, { origin });
    expect(response.status, `run ${sent + 1} of ${limit}`).toBe(400);
  }
  const refused = await postFormFrom(from, '/api/compare/run', { experiment: 'none' }, { origin });
  expect(refused.status).toBe(429);
  expect(JSON.parse(refused.body)).toEqual({ error: 'too_many_requests' });
  const retryAfter = Number(refused.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= RATE_LIMIT_WINDOW_SECONDS).toBe(true);
  // Another address is not affected.
  expect((await postFormFrom('127.0.0.4', '/api/compare/run', { experiment: 'none' }, { origin })).status).toBe(400);

  // The page states the limits it runs under, from the server's configuration.
  await page.goto('/compare');
  await expect(page.getByTestId('run-limits')).toContainText(`at most ${limit} runs per address`);
});

test('npm run compare against this server: a table on stdout, compare.json, compare.md and the README table', async ({ baseURL }, testInfo) => {
  test.setTimeout(120_000);
  const out = testInfo.outputPath('compare');
  const readme = testInfo.outputPath('README.md');
  fs.copyFileSync(path.join(ROOT, 'README.md'), readme);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [path.join(ROOT, 'scripts', 'compare.mjs'), `--url=${baseURL}`, '--only=scaling,outage', `--out=${out}`, `--readme=${readme}`],
    { cwd: ROOT, timeout: 110_000 },
  );
  const lines = stdout.split('\n');
  expect(lines[0]).toMatch(/^Claim +\| Database session +\| JWT +\| Verdict$/);
  expect(lines.find((line) => line.startsWith('JWTs scale horizontally.'))).toMatch(/\| accepted \(single instance\) +\| Browser JWT: accepted \(single instance\)\S* +\| Not observable here/);
  expect(lines.find((line) => line.startsWith('What each strategy does when the database is unreachable.'))).toBeTruthy();

  const report = JSON.parse(fs.readFileSync(path.join(out, 'compare.json'), 'utf8')) as {
    server: { started: boolean; url: string };
    experiments: { id: string; status: string; claims: { id: string; verdict: string }[] }[];
  };
  expect(report.server).toEqual({ started: false, url: new URL(baseURL!).origin });
  expect(report.experiments.map(({ id, status }) => [id, status])).toEqual([
    ['scaling', 'ok'],
    ['outage', 'ok'],
  ]);
  expect(report.experiments[0]?.claims.map((claim) => claim.id)).toEqual(['scaling']);
  const markdown = fs.readFileSync(path.join(out, 'compare.md'), 'utf8');
  expect(markdown).toContain('## Horizontal scaling');
  expect(markdown).toContain('### JWTs scale horizontally.');
  expect(markdown).toContain(`**Verdict:** ${report.experiments[0]?.claims[0]?.verdict}`);
  expect(markdown).toMatch(/\| Instance \| Database session \| Browser JWT \| API access token \(Bearer\) \|/);

  const generated = fs.readFileSync(readme, 'utf8');
  const section = generated.slice(generated.indexOf('<!-- compare-table:start -->'), generated.indexOf('<!-- compare-table:end -->'));
  expect(section).toContain('| Claim | Database session | JWT | Verdict |');
  expect(section).toContain(
    '| JWTs scale horizontally. | accepted (single instance) | Browser JWT: accepted (single instance); API access token (Bearer): accepted (single instance) | Not observable here',
  );
  expect(generated.replace(section, '')).toBe(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').replace(/<!-- compare-table:start -->[\s\S]*?(?=<!-- compare-table:end -->)/, ''));
});
