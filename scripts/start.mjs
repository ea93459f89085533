#!/usr/bin/env node
// `npm start`: the production server (server.mjs) exactly as before, in the
// foreground, and next to it the downstream service (examples/downstream) on
// loopback, so that the comparison lab's other-origin experiments answer out
// of the box. The service allows the app's origin (APP_URL, as the browser
// sees it) and reads the app's JWKS; the app gets the service's address in
// DOWNSTREAM_URL. It is started with scripts/app-process.mjs (the same code the
// test harness uses) and stopped with the app: when the server exits, or on
// SIGINT/SIGTERM. With DOWNSTREAM_URL set, the service is yours to run: only
// the app starts.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, startDownstream } from './app-process.mjs';

const port = process.env.PORT ?? '3000';
const appOrigin = new URL(process.env.APP_URL ?? `http://localhost:${port}`).origin;

let downstream = null;
const env = { ...process.env };
if (!process.env.DOWNSTREAM_URL) {
  try {
    downstream = await startDownstream({ appOrigin, host: '127.0.0.1', port: 4000, echo: true });
  } catch {
    // Port 4000 taken: any free loopback port does (the app is told which).
    downstream = await startDownstream({ appOrigin, host: '127.0.0.1', echo: true });
  }
  // Under the host name the app's page uses, so the browser sees the service as same-site where it can.
  const url = new URL(downstream.url);
  if (new URL(appOrigin).hostname === 'localhost') url.hostname = 'localhost';
  env.DOWNSTREAM_URL = url.origin;
  console.log(`downstream service: ${env.DOWNSTREAM_URL} (stops with the app)`);
}

const server = spawn(process.execPath, [path.join(ROOT, 'server.mjs'), ...process.argv.slice(2)], { cwd: ROOT, env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', async (code, signal) => {
  await downstream?.stop();
  process.exit(code ?? (signal === 'SIGINT' ? 130 : 143));
});
