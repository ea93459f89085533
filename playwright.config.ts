import { defineConfig } from '@playwright/test';

// The server under test is started by scripts/test.mjs (fresh database, fresh
// signing keys, production build) and its address handed over in E2E_BASE_URL;
// next to it runs the downstream service (examples/downstream), whose address
// comes in E2E_DOWNSTREAM_URL (e2e/downstream.spec.ts needs it).
// To run the specs against servers started by hand (`node scripts/app-process.mjs
// --port=3000 --downstream` prints both addresses):
//   E2E_BASE_URL=http://127.0.0.1:3000 E2E_DOWNSTREAM_URL=http://127.0.0.1:<port> \
//   DATABASE_URL=file:/abs/path.db KEYS_FILE=/abs/keys.json npx playwright test
const baseURL = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';

// Debian's Chromium: Playwright's own browser download is not used.
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const jsonReport = process.env.E2E_JSON_REPORT;

// What these specs check is decided above the store (headers, cross-site rules,
// redirect targets, page words, log levels, layout and accessibility): they run once, on the default
// database, and the run against PostgreSQL (scripts/test.mjs, E2E_DB_LABEL)
// keeps every spec that reads or writes sessions, users, tokens or rate limits.
const STORE_INDEPENDENT_SPECS = [
  'a11y.spec.ts',
  'csrf.spec.ts',
  'hardening.spec.ts',
  'layout.spec.ts',
  'log-noise.spec.ts',
  'page-copy.spec.ts',
  'redirects.spec.ts',
  'route-handlers.spec.ts',
];
const onlyStoreSpecs = process.env.E2E_DB_LABEL === 'postgres';

export default defineConfig({
  testDir: './e2e',
  // e2e/cluster/ runs only against `npm run cluster` (nginx and several instances),
  // with its own config: scripts/test.mjs step "cluster".
  testIgnore: ['cluster/**', ...(onlyStoreSpecs ? STORE_INDEPENDENT_SPECS : [])],
  outputDir: process.env.E2E_OUTPUT_DIR ?? 'test-results',
  fullyParallel: true,
  forbidOnly: true,
  retries: 0,
  workers: 2,
  // Flows that hash several argon2id passwords (OWASP cost) and drive two browsers
  // run for tens of seconds on 2 shared cores, more so against PostgreSQL.
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: jsonReport ? [['list'], ['json', { outputFile: jsonReport }]] : [['list']],
  use: {
    baseURL,
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
    screenshot: 'only-on-failure',
    // No trace by default: to keep one for a failed test, Playwright records one for
    // every test, and its DOM snapshot at each action costs the browser steps ~4 %
    // of their time on two cores. E2E_TRACE=1 records them (DOM snapshots and
    // network, no screencast) to debug a failure.
    trace: process.env.E2E_TRACE === '1' ? { mode: 'retain-on-failure', screenshots: false, snapshots: true } : 'off',
  },
});
