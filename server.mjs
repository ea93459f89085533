#!/usr/bin/env node
// Production server: `next start`, plus one thing it cannot do — tell the app
// the client's real address.
//
// `next start` copies the socket address into X-Forwarded-For only when the
// client sent none, so any client can claim any address there, and route
// handlers never see the socket. This entry sets `x-sot-client-ip` on every
// request before Next.js sees it (a client-sent one is always replaced):
//
//   TRUSTED_PROXY_HOPS=0 (default)  the socket's remote address
//   TRUSTED_PROXY_HOPS=N (1..5)     the address N entries from the right of
//                                   X-Forwarded-For: the one the outermost of
//                                   N trusted proxies saw (each appends the
//                                   address it received the request from); the
//                                   socket address when the header is shorter
//
// lib/security.ts clientContext() reads only that header.
//
// INSTANCE_ID (optional, 1-32 of A-Z a-z 0-9 _ -): sent back as `X-Instance` on
// every response, so a client behind a load balancer sees which instance
// answered (`npm run cluster` sets app-1 … app-N).
//
// Usage: node server.mjs [-p PORT] [-H HOST]   (or PORT / HOSTNAME; default 3000 on all interfaces)
import http from 'node:http';
import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import next from 'next';

export const CLIENT_IP_HEADER = 'x-sot-client-ip';
// Where this very process answers on loopback, for the comparison lab
// (lib/lab/loopback.ts), which sends its measured requests here. Set only on
// /api/compare/ requests, from the socket: a client can neither set it nor
// point the lab at another host.
export const LOOPBACK_ORIGIN_HEADER = 'x-sot-loopback-origin';
const LAB_PATH_PREFIX = '/api/compare/';

function fail(message) {
  console.error(`server: ${message}`);
  process.exit(1);
}

function argValue(short, long) {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    if (arg === short || arg === long) return args[i + 1];
    if (arg.startsWith(`${long}=`)) return arg.slice(long.length + 1);
  }
  return undefined;
}

/** Validated like lib/env.ts does: an integer 0..5. */
function trustedHops(raw) {
  if (raw === undefined || raw.trim() === '') return 0;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) > 5) fail(`TRUSTED_PROXY_HOPS must be an integer from 0 to 5, got "${raw}"`);
  return Number(raw);
}

/** "::ffff:203.0.113.7" → "203.0.113.7"; anything that is not an IP address → null. */
function normaliseAddress(value) {
  if (typeof value !== 'string') return null;
  let address = value.trim();
  // "[2001:db8::1]:443" and "203.0.113.7:443" as some proxies write them
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1];
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  if (address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4) address = address.slice(7);
  return isIP(address) ? address.toLowerCase() : null;
}

/** The client's address for this request (see the header comment). */
export function clientAddress(request, hops) {
  const socketAddress = normaliseAddress(request.socket.remoteAddress);
  if (hops === 0) return socketAddress;
  const header = request.headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((entry) => entry.trim()).filter(Boolean);
  if (entries.length < hops) return socketAddress;
  return normaliseAddress(entries[entries.length - hops]) ?? socketAddress;
}

/**
 * This server's loopback origin as seen from the request's socket: its own
 * local address when that is loopback, 127.0.0.1 when the server listens on
 * every interface (so loopback reaches it too), otherwise null (a server bound
 * to one public address is not on loopback at all).
 */
export function loopbackOrigin(socket, listensEverywhere) {
  const local = normaliseAddress(socket.localAddress);
  const port = socket.localPort;
  if (!local || !Number.isInteger(port)) return null;
  if (/^127\./.test(local)) return `http://${local}:${port}`;
  if (local === '::1') return `http://[::1]:${port}`;
  return listensEverywhere ? `http://127.0.0.1:${port}` : null;
}

/** INSTANCE_ID: unset or empty → null; otherwise a short [A-Za-z0-9_-] name. */
function instanceId(raw) {
  if (raw === undefined || raw === '') return null;
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(raw)) fail(`INSTANCE_ID must be 1-32 characters of A-Z a-z 0-9 _ -, got "${raw}"`);
  return raw;
}

async function main() {
  const hops = trustedHops(process.env.TRUSTED_PROXY_HOPS);
  const instance = instanceId(process.env.INSTANCE_ID);
  const portText = argValue('-p', '--port') ?? process.env.PORT ?? '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid port "${portText}"`);
  // Like `next start`: all interfaces unless told otherwise.
  const hostname = argValue('-H', '--hostname') ?? process.env.HOSTNAME ?? undefined;
  const dir = path.dirname(fileURLToPath(import.meta.url));
  const listensEverywhere = !hostname || hostname === '0.0.0.0' || hostname === '::';

  const app = next({ dev: false, dir, hostname: hostname ?? 'localhost', port });
  const handle = app.getRequestHandler();

  // Set on SIGTERM / SIGINT (see the graceful stop below).
  let stopping = false;
  const server = http.createServer((request, response) => {
    // Whatever the client sent under this name is discarded, always.
    delete request.headers[CLIENT_IP_HEADER];
    const address = clientAddress(request, hops);
    if (address) request.headers[CLIENT_IP_HEADER] = address;
    delete request.headers[LOOPBACK_ORIGIN_HEADER];
    if (request.url?.startsWith(LAB_PATH_PREFIX)) {
      const origin = loopbackOrigin(request.socket, listensEverywhere);
      if (origin) request.headers[LOOPBACK_ORIGIN_HEADER] = origin;
    }
    if (instance) response.setHeader('X-Instance', instance);
    // Stopping: a request that still arrives on a kept-alive connection is answered,
    // and its connection closed after the answer (a proxy then opens a new one elsewhere).
    if (stopping) response.setHeader('Connection', 'close');
    response.once('finish', () => {
      // A request that was already running when the stop began: its connection is idle now.
      if (stopping) setImmediate(() => server.closeIdleConnections());
    });
    handle(request, response).catch((error) => {
      console.error('server: request failed', error);
      if (!response.headersSent) response.statusCode = 500;
      response.end();
    });
  });

  // Idle keep-alive connections stay open longer than clients and proxies keep
  // theirs (nginx and most HTTP clients reuse them for up to a minute): a server
  // that closes a socket first races the client's next request on it, which the
  // client sees as ECONNRESET.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await app.prepare();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: actualPort } = /** @type {import('node:net').AddressInfo} */ (server.address());
  const shown = !hostname || hostname === '0.0.0.0' || hostname === '::' ? 'localhost' : hostname.includes(':') ? `[${hostname}]` : hostname;
  console.log(
    `▲ Next.js production server${instance ? ` ${instance}` : ''} on http://${shown}:${actualPort} (client address: ${hops === 0 ? 'socket' : `X-Forwarded-For, ${hops} trusted hop(s)`})`,
  );
  console.log(`✓ Ready`);

  // Graceful stop: no new connections, let running requests finish, then close Next.js.
  // server.close() alone is not enough behind a proxy: Node keeps serving requests on
  // kept-alive connections (nginx reuses its upstream connections without end), so the
  // requests above close their connection once answered.
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    const hardStop = setTimeout(() => process.exit(1), 10_000);
    hardStop.unref();
    server.close(() => {
      app
        .close()
        .catch((error) => console.error('server: close failed', error))
        .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
    server.closeIdleConnections();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
