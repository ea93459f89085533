import type { RunningServer } from '../scripts/app-process.mjs';
import { DEMO, expect, signInHttp, test } from './fixtures';

/**
 * What the pages say about revocation, lookups and lifetimes is generated from
 * the running configuration. One server per revocation mode (the suite's own
 * server runs the default, strict), each with its own JWT lifetime, on the
 * same database and keys; the words must match what that server does.
 */

const modes = [
  {
    mode: 'strict',
    jwtTtlSeconds: '1800',
    home: ['looks the token\'s session (sid) up by primary key', 'this server refuses a copy from the next request on'],
    hint: 'signed token in the cookie (30 minutes), signature checked and its session looked up on every request',
    check: 'signature verification + session lookup',
    absent: ['no lookup', 'keeps working until then'],
    diagram: ['6. verify the signature', '7. look up sid: revoked?', 'a copy is refused here, but verifies elsewhere until exp'],
    databaseDiagram: '5. read the session by hash(id)',
    dashboard: 'strict mode',
  },
  {
    mode: 'stateless',
    jwtTtlSeconds: '2700',
    home: ['Every request verifies the signature: no lookup', 'keeps working until then', 'up to 45 minutes'],
    hint: 'signed token in the cookie (45 minutes), verified without a lookup',
    check: 'signature verification)',
    absent: ['looked up on every request, so a copy', 'refuses a copy from the next request on'],
    diagram: ['6. verify the signature (no lookup)', 'a copy still works here until exp'],
    databaseDiagram: '5. read the session by hash(id)',
    dashboard: 'stateless mode',
  },
  {
    mode: 'pushed',
    jwtTtlSeconds: '1800',
    home: ['against the revoked sessions this instance holds in memory: no lookup', 'pushes that to every instance'],
    hint: 'signed token in the cookie (30 minutes), signature checked and its session compared with the revocations pushed to every instance',
    check: 'signature verification + in-memory revocation list',
    absent: ["looks the token's session (sid) up by primary key", 'keeps working until then'],
    diagram: ['6. verify the signature; sid in the revoked list in memory? (no lookup)', 'push the revocation to every instance'],
    databaseDiagram: '5. find the session by hash(id) in memory (read once, then kept)',
    // One process on SQLite: the feed is in-process.
    dashboard: 'pushed mode: feed live (in-process)',
  },
] as const;

for (const expected of modes) {
  test.describe(`REVOCATION_MODE=${expected.mode}`, () => {
    test.describe.configure({ mode: 'serial' });
    let server: RunningServer;

    test.beforeAll(async () => {
      // An ES module: loaded at run time (the specs are compiled as CommonJS).
      const { startServer } = await import('../scripts/app-process.mjs');
      server = await startServer({ env: { REVOCATION_MODE: expected.mode, JWT_TTL_SECONDS: expected.jwtTtlSeconds } });
    });
    test.afterAll(async () => {
      await server?.stop();
    });

    test('the home page and the sign-in form describe this mode', async ({ page }) => {
      await page.goto(`${server.url}/`);
      const jwtFlow = page.getByTestId('flow-jwt');
      for (const words of expected.home) await expect(jwtFlow).toContainText(words);
      for (const words of expected.absent) await expect(jwtFlow).not.toContainText(words);
      // The drawing and its text alternative (the list that describes it) follow the mode too.
      const diagram = jwtFlow.getByRole('img', { name: 'JWT: sign-in, a request and sign-out' });
      const asText = jwtFlow.getByRole('group').filter({ hasText: 'The diagram as text' });
      for (const words of expected.diagram) {
        await expect(diagram).toContainText(words);
        await expect(asText).toContainText(words.replace(/^\d+\. /, ''));
      }
      await expect(page.getByTestId('flow-database').getByRole('img')).toContainText(expected.databaseDiagram);
      await page.goto(`${server.url}/login`);
      await expect(page.getByRole('radiogroup')).toContainText(expected.hint);
    });

    test('the dashboard and the sign-out notice describe this mode', async ({ page }) => {
      const signedIn = await signInHttp(page.context().request, { ...DEMO, strategy: 'jwt' }, server.url);
      expect(signedIn.status()).toBe(302);
      await page.goto(`${server.url}/dashboard`);
      await expect(page.getByTestId('check-cost')).toContainText(expected.check);
      await expect(page.getByTestId('revocation-mode')).toContainText(expected.dashboard);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await expect(page).toHaveURL(/\/login\?signedOut=/);
      const notice = page.getByRole('status');
      if (expected.mode !== 'stateless') {
        await expect(notice).toContainText('The server revoked your session');
      } else {
        await expect(notice).toContainText('a copy of a revoked token keeps working until then');
        await expect(notice).toContainText('up to 45 minutes');
      }
    });
  });
}
