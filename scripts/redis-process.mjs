#!/usr/bin/env node
// A throwaway Redis server for tests and the cluster: Debian's redis-server as a
// child process with its own config file and data directory in a temp dir, on
// 127.0.0.1 and a free port, no persistence (`save ""`, `appendonly no`). Resolves
// once it answers PING; stop() kills it and deletes the directory. Never a system
// service: nothing outside the temp dir is read or written.
//
// Library use:
//   import { findRedisServer, startRedis } from './redis-process.mjs';
//   const redis = await startRedis();
//   ... redis.url (redis://127.0.0.1:<port>) ...
//   await redis.pause();   // the server goes away (outage tests) …
//   await redis.resume();  // … and comes back, same port, empty
//   await redis.stop();
//
// Command line (runs until Ctrl-C):
//   node scripts/redis-process.mjs
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstExecutable, freePort, killGroup } from './app-process.mjs';

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];
const HOST = '127.0.0.1';

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Servers started by this process and not yet stopped: killed synchronously when it exits. */
const live = new Set();
process.on('exit', () => {
  for (const server of live) server.stopSync();
});

/** Path of redis-server, or null when it is not installed. REDIS_SERVER_BIN, when set, is the only candidate. */
export function findRedisServer() {
  return firstExecutable(process.env.REDIS_SERVER_BIN ? [process.env.REDIS_SERVER_BIN] : CANDIDATES);
}

function tailOf(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Resolves true when the server at port answers PING with PONG, false otherwise (never hangs: 1 s). */
export function ping(port, host = HOST) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    let reply = '';
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function config({ port, dir, logFile }) {
  const q = (value) => `"${String(value).replace(/(["\\])/g, '\\$1')}"`;
  return `# Written by scripts/redis-process.mjs: a throwaway server, nothing kept.
bind ${HOST}
port ${port}
protected-mode yes
daemonize no
dir ${q(dir)}
logfile ${q(logFile)}
save ""
appendonly no
databases 16
`;
}

/**
 * Start a throwaway Redis server.
 * @param {import('./redis-process.d.mts').RedisOptions} [options]
 * @returns {Promise<import('./redis-process.d.mts').RunningRedis>}
 */
export async function startRedis(options = {}) {
  const bin = options.bin ?? findRedisServer();
  if (!bin) throw new Error('redis-server not found (/usr/bin/redis-server): install it with apt-get install -y redis-server');
  const timeoutMs = options.timeoutMs ?? 15_000;
  const dir = fs.mkdtempSync(path.join(options.parentDir ?? os.tmpdir(), 'sot-redis-'));
  const conf = path.join(dir, 'redis.conf');
  const logFile = path.join(dir, 'redis.log');

  let child = null;
  let exitInfo = null;
  let exited = Promise.resolve(null);
  let stopped = false;

  const launch = async (port) => {
    fs.writeFileSync(conf, config({ port, dir, logFile }));
    exitInfo = null;
    // Its own process group, so killGroup reaches it whatever it forks.
    const proc = spawn(bin, [conf], { cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr.on('data', (chunk) => (stderr += chunk));
    exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => resolve((exitInfo = { code, signal, stderr })));
      proc.on('error', (error) => resolve((exitInfo = { code: null, signal: null, stderr: error.message })));
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exitInfo) return false;
      if (await ping(port)) return true;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on ${HOST}:${port} within ${timeoutMs} ms:\n${tailOf(logFile)}`);
      await Promise.race([delay(50), exited]);
    }
  };

  const kill = async () => {
    if (!child || exitInfo) return;
    const pid = child.pid;
    killGroup(pid, 'SIGTERM');
    if ((await Promise.race([exited, delay(5_000).then(() => 'timeout')])) === 'timeout') {
      killGroup(pid, 'SIGKILL');
      await exited;
    }
  };

  const server = {
    url: '',
    port: 0,
    dir,
    log: logFile,
    get pid() {
      return child?.pid ?? 0;
    },
    get running() {
      return child !== null && exitInfo === null;
    },
    get exited() {
      return exited;
    },
    output: () => [exitInfo?.stderr?.trim(), tailOf(logFile)].filter(Boolean).join('\n'),
    async stop() {
      if (stopped) return;
      stopped = true;
      live.delete(server);
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    stopSync() {
      stopped = true;
      live.delete(server);
      if (child && !exitInfo) killGroup(child.pid, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
    /** The server goes away (its data with it); the port and directory stay for resume(). */
    async pause() {
      await kill();
    },
    /** Start again on the same port, empty. */
    async resume() {
      if (server.running) return;
      if (!(await launch(server.port))) throw new Error(`redis-server did not start again on port ${server.port}:\n${server.output()}`);
    },
  };
  live.add(server);

  try {
    // A free port can be taken between the probe and the bind: a few tries.
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const port = await freePort(HOST);
      if (await launch(port)) {
        server.port = port;
        server.url = `redis://${HOST}:${port}`;
        return server;
      }
      if (!/address already in use/i.test(server.output())) break;
    }
    throw new Error(`redis-server exited at start (${exitInfo?.code ?? exitInfo?.signal}):\n${server.output()}`);
  } catch (error) {
    await server.stop().catch(() => {});
    throw error;
  }
}

// Command-line mode. (No top-level await: TypeScript tests import this file, and
// tsx compiles it to CommonJS for them.)
async function main() {
  const server = await startRedis();
  console.log(server.url);
  console.error(`redis-server (pid ${server.pid}) in ${server.dir}; Ctrl-C stops it and removes the directory`);
  let stopping = false;
  const shutdown = async () => {
    stopping = true;
    await server.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  server.exited.then((info) => {
    if (info && !stopping) {
      console.error(`redis-server exited (${info.code ?? info.signal})`);
      process.exit(1);
    }
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(String(error?.message ?? error));
    process.exit(1);
  });
}
