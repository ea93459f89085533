import fs from 'node:fs';
import { expect, test } from './fixtures';

/**
 * Client mistakes are warnings at most: no unauthenticated client can fill the
 * server's error log (or its stderr with stack traces). Reads the log of the
 * server under test (scripts/test.mjs hands its path over in E2E_SERVER_LOG).
 */
const serverLog = process.env.E2E_SERVER_LOG;

/** What the server printed after `offset` (bytes), once it has printed `marker`. */
async function logAfter(offset: number, marker: string): Promise<string> {
  let text = '';
  await expect
    .poll(() => {
      text = fs.readFileSync(serverLog!, 'utf8').slice(offset);
      return text.includes(marker);
    })
    .toBe(true);
  return text;
}

test.skip(!serverLog, 'needs the server log (run through scripts/test.mjs)');

test('a GET to the credentials callback and unknown server actions log no errors', async ({ request }) => {
  const offset = fs.statSync(serverLog!).size;
  const callback = await request.get('/api/auth/callback/credentials', { maxRedirects: 0 });
  expect(callback.status()).toBeLessThan(500);

  const unknownIds = ['0123456789abcdef0123456789abcdef01234567', `00${'ab'.repeat(20)}`, 'not-an-id'];
  for (const id of unknownIds) {
    const response = await request.post('/login', {
      headers: { 'next-action': id, 'content-type': 'text/plain;charset=UTF-8', origin: new URL(callback.url()).origin },
      data: '[]',
    });
    expect(response.status(), `unknown action ${id}`).toBe(404);
    expect(await response.text()).not.toMatch(/at \w+ \(|Server Action/);
  }
  // A request the server always logs, as a marker that everything before it was written.
  const marker = await request.get('/api/auth/callback/credentials', { maxRedirects: 0 });
  expect(marker.status()).toBeLessThan(500);

  const written = await logAfter(offset, '"authjs.error"');
  const lines = written.split('\n').filter(Boolean);
  expect(lines.filter((line) => line.includes('"level":"error"')), 'error-level lines').toEqual([]);
  expect(written).not.toMatch(/Failed to find Server Action|did not match the expected format|uncaughtException|\n\s+at /);
  expect(lines.some((line) => line.includes('"level":"warn"') && line.includes('"authjs.error"'))).toBe(true);
});
