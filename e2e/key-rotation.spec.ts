import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { decodeProtectedHeader } from 'jose';
import {
  DEMO,
  expect,
  test,
} from './fixtures';

/**
 * `npm run keys:rotate` against the running server's key file: the new key is
 * published in the JWKS without a restart, while signing stays on the current
 * key until verifiers' JWKS caches have expired (publish before use).
 */
test('a rotated key reaches the running server: published at once, not yet signing', async ({ request }) => {
  const keysFile = process.env.KEYS_FILE;
  expect(keysFile, 'the e2e runner passes the server key file').toBeTruthy();
  const kidsBefore = ((await (await request.get('/.well-known/jwks.json')).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);

  const root = path.resolve(__dirname, '..');
  const output = execFileSync(
    process.execPath,
    [path.join(root, 'node_modules/tsx/dist/cli.mjs'), '--conditions=react-server', 'scripts/keys.ts', 'rotate'],
    { cwd: root, env: { ...process.env, KEYS_FILE: keysFile }, encoding: 'utf8' },
  );
  const added = /added (\S+);/.exec(output)?.[1];
  expect(added, output).toBeTruthy();
  expect(kidsBefore).not.toContain(added);

  await expect
    .poll(async () => ((await (await request.get('/.well-known/jwks.json')).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid), {
      timeout: 20_000,
    })
    .toContain(added);

  const response = await request.post('/api/token', { data: { email: DEMO.email, password: DEMO.password } });
  const { access_token: accessToken } = (await response.json()) as { access_token: string };
  expect(decodeProtectedHeader(accessToken).kid).not.toBe(added);
  expect((await request.get('/api/me', { headers: { authorization: `Bearer ${accessToken}` } })).status()).toBe(200);
});
