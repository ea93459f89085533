import { defineConfig } from '@playwright/test';
import base from '../../playwright.config';

// The specs in this directory, against a cluster (scripts/cluster.mjs): nginx in
// front of several instances on one PostgreSQL. Everything else as in the main
// config. scripts/test.mjs (step "cluster") starts the cluster and hands over:
//   E2E_BASE_URL            the nginx address
//   E2E_CLUSTER_INSTANCES   JSON [{ "id": "app-1", "url": "http://127.0.0.1:…" }, …]
//   DATABASE_URL, KEYS_FILE the cluster's database and keys
//   E2E_CLUSTER_CONTROL     a loopback control channel (POST /instances/<id>/restart, see scripts/test.mjs)
// restart.spec.ts restarts an instance and revocation.spec.ts cuts every instance's revocation
// feed and measures propagation delays, so they run alone, one at a time, after every other spec
// has finished (passed or not): project "alone" (one worker) is the teardown of project "cluster".
// Naming only those specs runs them alone; naming another cluster spec runs them after it.
// By hand: start the cluster with the suite's limits (RATE_LIMIT_* as in scripts/test.mjs, E2E_LIMITS:
// the specs sign in 100 times from 127.0.0.1), e.g. `RATE_LIMIT_SIGNIN_PER_IP=500
// RATE_LIMIT_WINDOW_SECONDS=86400 npm run cluster`, then with the addresses it printed and the same limits:
//   E2E_BASE_URL=http://127.0.0.1:3000 E2E_CLUSTER_INSTANCES='[{"id":"app-1","url":"http://127.0.0.1:…"},…]' \
//   DATABASE_URL=postgresql://… RATE_LIMIT_SIGNIN_PER_IP=500 RATE_LIMIT_WINDOW_SECONDS=86400 \
//   npx playwright test --config e2e/cluster/playwright.config.ts
const ALONE = ['restart.spec.ts', 'revocation.spec.ts'];

export default defineConfig({
  ...base,
  testDir: '.',
  testIgnore: [],
  testMatch: '*.spec.ts',
  // relative to this file: the same test-results/ as the main config by default
  outputDir: process.env.E2E_OUTPUT_DIR ?? '../../test-results',
  projects: [
    { name: 'cluster', testIgnore: ALONE, teardown: 'alone' },
    { name: 'alone', testMatch: ALONE, workers: 1 },
  ],
});
