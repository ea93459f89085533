#!/usr/bin/env node
// Many app instances behind a load balancer, on one shared PostgreSQL:
//
//   browser ──► nginx 127.0.0.1:<port> (round-robin, no sticky sessions)
//                 ├─► app-1  server.mjs on 127.0.0.1:<free port>  ─┐
//                 ├─► app-2  …                                     ├─► PostgreSQL
//                 └─► app-N  …                                    ─┘   (+ the signing keys)
//                                                                         (+ Redis with --redis)
//
// - PostgreSQL: DATABASE_URL when it is a postgresql:// URL, otherwise a
//   throwaway cluster (scripts/pg-cluster.mjs); migrated and seeded with
//   scripts/setup.mjs, which also creates the signing keys in the database,
//   sealed under KEYS_ENCRYPTION_KEY (given, or a throwaway one per cluster) that
//   every instance gets: no shared key file. KEYS_FILE (default: keys.json in the
//   cluster's temp directory, which does not exist) is only imported if it exists.
// - N production instances (server.mjs via scripts/app-process.mjs) with
//   INSTANCE_ID=app-1…app-N (sent back as `X-Instance`), TRUSTED_PROXY_HOPS=1
//   (the client address is the one nginx appended to X-Forwarded-For),
//   APP_URL = the nginx address, and CLUSTER_BALANCER_URL / CLUSTER_INSTANCE_URLS:
//   nginx's and every instance's loopback address (the comparison lab's scaling
//   experiment asks each instance directly). Everything else (REVOCATION_MODE, RATE_LIMIT_*, …)
//   passes through from the environment.
// - With `redis: true` (`--redis`): REDIS_URL when it is set, otherwise a throwaway
//   redis-server (scripts/redis-process.mjs); every instance gets it as REDIS_URL
//   (rate-limit counters live there then).
// - Debian's nginx (/usr/sbin/nginx, or NGINX_BIN) as a child process with its
//   config, pid file, temp paths and logs in the temp directory.
//
// Everything started here is stopped again by stop(), on Ctrl-C / SIGTERM in
// command-line mode, and (synchronously, as a last resort) when this process exits.
//
// Library use:
//   import { startCluster } from './cluster.mjs';
//   const cluster = await startCluster({ instances: 3, port: 0, env: { RATE_LIMIT_SIGNIN_PER_IP: '500' } });
//   ... cluster.url, cluster.instances[0].url, cluster.databaseUrl, cluster.keysEncryptionKey ...
//   await cluster.restart('app-2'); // graceful stop, start again on the same port (nginx's list is fixed)
//   await cluster.stop();
//
// Command line (runs until Ctrl-C; needs a production build: `npm run build`):
//   npm run cluster -- [--instances=3] [--port=3000] [--redis]
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, firstExecutable, freePort, killGroup, startServer } from './app-process.mjs';
import { startPgCluster } from './pg-cluster.mjs';
import { startRedis } from './redis-process.mjs';

const DEFAULT_NGINX = '/usr/sbin/nginx';
const MAX_INSTANCES = 16;
const INSTANCE_START_TIMEOUT_MS = 120_000;

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Path of the nginx binary, or null when it is not installed. NGINX_BIN, when set, is the only candidate. */
export function findNginx() {
  return firstExecutable(process.env.NGINX_BIN ? [process.env.NGINX_BIN] : [DEFAULT_NGINX, '/usr/bin/nginx']);
}

/** nginx processes (pids of their groups), setup.mjs runs and temp directories of clusters not stopped yet. */
const liveNginx = new Set();
const liveSetups = new Set();
const liveDirs = new Set();
// Last resort when this process exits with a cluster still up: app-process.mjs and
// pg-cluster.mjs take down the instances and PostgreSQL in their own exit hooks.
process.on('exit', () => {
  for (const pid of liveNginx) killGroup(pid, 'SIGKILL');
  for (const child of liveSetups) killGroup(child.pid, 'SIGKILL');
  for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Resolves when the port can be bound on the host, rejects with a clear message otherwise. */
function assertPortFree(port, host) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error) =>
      reject(new Error(`cannot listen on ${host}:${port} (${error.code ?? error.message}): choose another with --port=`)),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

function nginxConfig({ dir, host, port, upstreams }) {
  const q = (value) => `"${String(value).replace(/(["\\])/g, '\\$1')}"`;
  const p = (name) => q(path.join(dir, name));
  return `# Written by scripts/cluster.mjs; everything nginx writes stays in this directory.
worker_processes 1;
pid ${p('nginx.pid')};
error_log ${p('error.log')} warn;

events {
  worker_connections 1024;
}

http {
  log_format upstream '$remote_addr "$request" $status upstream=$upstream_addr instance=$upstream_http_x_instance '
                      'xff="$http_x_forwarded_for" $request_time';
  access_log ${p('access.log')} upstream;

  client_body_temp_path ${p('temp/client_body')};
  proxy_temp_path ${p('temp/proxy')};
  fastcgi_temp_path ${p('temp/fastcgi')};
  uwsgi_temp_path ${p('temp/uwsgi')};
  scgi_temp_path ${p('temp/scgi')};

  server_tokens off;
  client_max_body_size 1m;

  # Round-robin over every instance, no sticky sessions: consecutive requests
  # of one browser land on different instances.
  upstream app {
${upstreams.map((u) => `    server ${u};`).join('\n')}
    keepalive 16;
  }

  server {
    listen ${host}:${port};

    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # The browser's Host (origin checks, Auth.js), the client address appended
      # to whatever X-Forwarded-For the client sent (the app trusts only the last
      # entry: TRUSTED_PROXY_HOPS=1), and the scheme the client used.
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 120s;
    }
  }
}
`;
}

/** Run scripts/setup.mjs (migrate, seed, keys) with the given environment. */
function runSetup(env, logFile) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'setup.mjs')], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      detached: true, // its own process group, so the exit hook reaches the steps it runs
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveSetups.add(child);
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      fs.appendFileSync(logFile, chunk);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', () => liveSetups.delete(child));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`setup.mjs failed (exit ${code}):\n${output.slice(-4000)}`))));
  });
}

function describeExit(info) {
  if (!info) return 'still running';
  return info.error ? info.error.message : `exit code ${info.code ?? '-'}, signal ${info.signal ?? '-'}`;
}

/** A URL for the log: the password it may carry replaced. */
function hidePassword(url) {
  return url.replace(/\/\/[^@/]*@/, '//…@');
}

function tailOf(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Start nginx in front of the upstreams; resolve once it answers through to an app instance.
 */
async function startNginx({ bin, dir, host, port, upstreams, timeoutMs = 15_000 }) {
  fs.mkdirSync(path.join(dir, 'temp'), { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig({ dir, host, port, upstreams }));
  const errorLog = path.join(dir, 'error.log');
  const args = ['-e', errorLog, '-p', dir + path.sep, '-c', conf];
  const check = spawnSync(bin, [...args, '-t'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx rejected its configuration (${conf}):\n${check.stderr}`);

  const child = spawn(bin, [...args, '-g', 'daemon off;'], { cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  liveNginx.add(child.pid);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve((exitInfo = { code, signal })));
    child.on('error', (error) => resolve((exitInfo = { code: null, signal: null, error })));
  });

  const handle = {
    pid: child.pid,
    child,
    exited,
    get running() {
      return exitInfo === null;
    },
    output: () => [stderr.trim(), tailOf(errorLog)].filter(Boolean).join('\n'),
    stop: async () => {
      liveNginx.delete(child.pid);
      if (exitInfo === null) {
        killGroup(child.pid, 'SIGTERM'); // fast shutdown of master and workers
        if ((await Promise.race([exited, delay(5_000).then(() => 'timeout')])) === 'timeout') {
          killGroup(child.pid, 'SIGKILL');
          await exited;
        }
      }
      killGroup(child.pid, 'SIGKILL'); // a worker left in the group, if any
    },
  };

  const url = `http://${host}:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!handle.running) {
      await handle.stop();
      throw new Error(`nginx exited before it answered (${exitInfo?.error?.message ?? `exit ${exitInfo?.code}, signal ${exitInfo?.signal}`}):\n${handle.output()}`);
    }
    try {
      const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(3_000) });
      if (response.headers.get('x-instance')) return handle;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`nginx did not answer on ${url} within ${timeoutMs} ms:\n${handle.output()}`);
    }
    await Promise.race([delay(100), exited]);
  }
}

/**
 * Start PostgreSQL (or use the given one), N app instances and nginx in front.
 *
 * @param {import('./cluster.d.mts').ClusterOptions} [options]
 * @returns {Promise<import('./cluster.d.mts').RunningCluster>}
 */
export async function startCluster(options = {}) {
  const count = options.instances ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > MAX_INSTANCES) throw new Error(`instances must be an integer from 1 to ${MAX_INSTANCES}, got ${count}`);
  const host = '127.0.0.1';
  const requestedPort = options.port ?? 3000;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) throw new Error(`invalid port ${requestedPort}`);
  const say = options.log ?? (() => {});
  const extraEnv = options.env ?? {};

  const nginxBin = findNginx();
  if (!nginxBin) throw new Error(`nginx not found (${process.env.NGINX_BIN || DEFAULT_NGINX}): install it with apt-get install -y nginx`);
  if (!fs.existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) throw new Error('no production build (.next/BUILD_ID): run `npm run build` first');

  const port = requestedPort === 0 ? await freePort(host) : requestedPort;
  await assertPortFree(port, host);
  const url = `http://${host}:${port}`;

  // The temp directory is traversable (0755) so that nginx's workers, which drop
  // root for `nobody`, can use their temp paths.
  const dir = fs.mkdtempSync(path.join(options.parentDir ?? os.tmpdir(), 'sot-cluster-'));
  fs.chmodSync(dir, 0o755);
  liveDirs.add(dir);
  const nginxDir = path.join(dir, 'nginx');
  fs.mkdirSync(nginxDir);

  let pg = null;
  let redis = null;
  let nginx = null;
  /** The running server.mjs processes (restart() swaps one for its successor). */
  const servers = new Set();
  let stopped = false;
  const stop = async ({ removeDir = !options.keepDir } = {}) => {
    if (stopped) return;
    stopped = true;
    await nginx?.stop().catch(() => {});
    await Promise.allSettled([...servers].map((server) => server.stop()));
    await pg?.stop().catch(() => {});
    await redis?.stop().catch(() => {});
    liveDirs.delete(dir);
    if (removeDir) fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    // -- database
    const givenUrl = options.freshDatabase ? undefined : (extraEnv.DATABASE_URL ?? process.env.DATABASE_URL);
    let databaseUrl;
    if (givenUrl && /^postgres(ql)?:\/\//.test(givenUrl)) {
      databaseUrl = givenUrl;
      say(`database: ${databaseUrl.replace(/\/\/[^@/]*@/, '//…@')} (given in DATABASE_URL)`);
    } else {
      if (givenUrl) say(`DATABASE_URL is not a postgresql:// URL (${givenUrl.split(':')[0]}:…): starting a throwaway PostgreSQL cluster instead`);
      const started = Date.now();
      pg = await startPgCluster({ database: 'sot_cluster' });
      databaseUrl = pg.url;
      say(`database: ${databaseUrl} (throwaway cluster in ${pg.dir}, ready in ${((Date.now() - started) / 1000).toFixed(1)}s)`);
    }
    // -- Redis (optional): shared by every instance, like the database
    let redisUrl = (extraEnv.REDIS_URL ?? process.env.REDIS_URL) || null;
    if (options.redis) {
      if (redisUrl && !options.freshRedis) {
        say(`redis: ${hidePassword(redisUrl)} (given in REDIS_URL)`);
      } else {
        const started = Date.now();
        redis = await startRedis();
        redisUrl = redis.url;
        say(`redis: ${redisUrl} (throwaway redis-server in ${redis.dir}, ready in ${((Date.now() - started) / 1000).toFixed(1)}s)`);
      }
    } else if (redisUrl) {
      say(`redis: ${hidePassword(redisUrl)} (REDIS_URL from the environment)`);
    }

    const keysFile = extraEnv.KEYS_FILE ?? path.join(dir, 'keys.json');
    // Signing keys in the database (lib/tokens/key-store.ts), so the instances
    // share no disk: every one gets the same KEYS_ENCRYPTION_KEY, the given one or
    // a throwaway per cluster. Never printed: it opens the private keys.
    const givenKey = extraEnv.KEYS_ENCRYPTION_KEY ?? process.env.KEYS_ENCRYPTION_KEY;
    const keysEncryptionKey = givenKey || crypto.randomBytes(32).toString('base64url');
    const shared = { ...extraEnv, DATABASE_URL: databaseUrl, KEYS_FILE: keysFile, KEYS_ENCRYPTION_KEY: keysEncryptionKey, REDIS_URL: redisUrl ?? '', NEXT_TELEMETRY_DISABLED: '1' };

    const setupLog = path.join(dir, 'setup.log');
    if (!givenKey && pg === null) say('KEYS_ENCRYPTION_KEY not set: a throwaway one (keys this database already holds under another one will not open)');
    await runSetup(shared, setupLog);
    say(`migrated and seeded; signing keys in the database, sealed under ${givenKey ? 'the given' : 'a throwaway'} KEYS_ENCRYPTION_KEY`);

    // -- app instances (in parallel; each on a free loopback port)
    // The ports are chosen before any instance starts, so that every instance
    // can be told every instance's address (and nginx's): the comparison lab's
    // scaling experiment asks each one directly (CLUSTER_INSTANCE_URLS, loopback only).
    const ports = [];
    while (ports.length < count) {
      const candidate = await freePort(host);
      if (candidate !== port && !ports.includes(candidate)) ports.push(candidate);
    }
    const peers = ports.map((instancePort, index) => `app-${index + 1}=http://${host}:${instancePort}`).join(',');
    const started = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: count }, async (_, index) => {
        const id = `app-${index + 1}`;
        const logFile = path.join(dir, `${id}.log`);
        const env = {
          ...shared,
          NODE_ENV: 'production',
          TRUSTED_PROXY_HOPS: '1',
          INSTANCE_ID: id,
          APP_URL: url,
          CLUSTER_BALANCER_URL: url,
          CLUSTER_INSTANCE_URLS: peers,
        };
        const server = await startServer({ env, logFile, port: ports[index], timeoutMs: INSTANCE_START_TIMEOUT_MS });
        servers.add(server);
        return { id, url: server.url, port: server.port, logFile, env, server };
      }),
    );
    const failures = results.filter((result) => result.status === 'rejected');
    if (failures.length) throw new Error(`${failures.length} of ${count} instance(s) did not start:\n${failures.map((f) => f.reason?.message ?? f.reason).join('\n')}`);
    const instances = results.map((result) => /** @type {PromiseFulfilledResult<any>} */ (result).value).sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    for (const instance of instances) say(`${instance.id}: ${instance.url} (log ${instance.logFile})`);
    say(`${count} instance(s) ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    // -- nginx in front
    nginx = await startNginx({ bin: nginxBin, dir: nginxDir, host, port, upstreams: instances.map((instance) => `${host}:${instance.port}`) });

    // Round-robin reaches every instance (a few requests more than N, since other clients may interleave).
    const seen = new Map();
    for (let i = 0; i < count * 4 && seen.size < count; i += 1) {
      const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(5_000) });
      const id = response.headers.get('x-instance') ?? '(none)';
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    if (seen.size < count) throw new Error(`through nginx only ${[...seen.keys()].join(', ')} answered`);
    say(`nginx: ${url} → ${instances.map((instance) => instance.id).join(', ')} round-robin (config ${path.join(nginxDir, 'nginx.conf')}, logs in ${nginxDir})`);

    // One record per instance, following its current process: restart() replaces
    // `server`; `ended` settles only when the instance stops for another reason
    // (it died, or stop()), never for a deliberate restart.
    const records = instances.map((instance) => {
      let end;
      const record = { ...instance, restarting: false, ended: new Promise((resolve) => (end = resolve)) };
      record.end = end;
      record.follow = (server) =>
        server.exited.then((info) => {
          if (record.server === server && !record.restarting) end(info);
        });
      record.follow(instance.server);
      return record;
    });
    const byId = new Map(records.map((record) => [record.id, record]));

    /**
     * Graceful stop (SIGTERM: server.mjs stops accepting, finishes running
     * requests, exits 143; SIGKILL after 5 s), then the same environment on the
     * same port, resolved once it answers /api/health. `whileDown` runs between
     * the two (the instance is gone, its successor not started yet).
     */
    const restart = async (id, { whileDown } = {}) => {
      const record = byId.get(id);
      if (!record) throw Object.assign(new Error(`no instance "${id}" (there are ${[...byId.keys()].join(', ')})`), { code: 'UNKNOWN_INSTANCE' });
      if (stopped) throw new Error('the cluster is stopped');
      if (record.restarting) throw Object.assign(new Error(`${id} is already restarting`), { code: 'RESTARTING' });
      record.restarting = true;
      try {
        const previous = record.server;
        const begun = performance.now();
        await previous.stop();
        servers.delete(previous);
        const exitedAt = performance.now();
        say(`${id}: pid ${previous.pid} stopped (${describeExit(previous.exitInfo)}) in ${((exitedAt - begun) / 1000).toFixed(1)}s`);
        if (whileDown) await whileDown();
        if (stopped) throw new Error('the cluster was stopped during the restart');
        const spawning = performance.now();
        const server = await startServer({ env: record.env, port: record.port, logFile: record.logFile, timeoutMs: INSTANCE_START_TIMEOUT_MS });
        servers.add(server);
        if (stopped) {
          await server.stop();
          throw new Error('the cluster was stopped during the restart');
        }
        record.server = server;
        record.follow(server);
        const ready = performance.now();
        say(`${id}: pid ${server.pid} on ${server.url} ready in ${((ready - spawning) / 1000).toFixed(1)}s`);
        const ms = (value) => Math.round(value);
        return {
          id,
          previousPid: previous.pid,
          pid: server.pid,
          previousExit: { code: previous.exitInfo?.code ?? null, signal: previous.exitInfo?.signal ?? null },
          stopMs: ms(exitedAt - begun),
          downMs: ms(spawning - exitedAt),
          startMs: ms(ready - spawning),
          totalMs: ms(ready - begun),
        };
      } finally {
        record.restarting = false;
        // A successor that did not start leaves the instance down for good.
        if (!record.server.running) record.end(record.server.exitInfo);
      }
    };

    return {
      url,
      port,
      dir,
      databaseUrl,
      ownsDatabase: pg !== null,
      redisUrl,
      ownsRedis: redis !== null,
      redis: redis && {
        pid: redis.pid,
        dir: redis.dir,
        get running() {
          return redis.running;
        },
        output: () => redis.output(),
        exited: redis.exited,
      },
      keysFile,
      keysEncryptionKey,
      instances: records.map((record) => ({
        id: record.id,
        url: record.url,
        port: record.port,
        logFile: record.logFile,
        get pid() {
          return record.server.pid;
        },
        get running() {
          return record.server.running;
        },
        get restarting() {
          return record.restarting;
        },
        output: () => record.server.output(),
        exited: record.ended,
      })),
      nginx: {
        pid: nginx.pid,
        dir: nginxDir,
        get running() {
          return nginx.running;
        },
        output: () => nginx.output(),
        exited: nginx.exited,
      },
      restart,
      stop: () => stop(),
    };
  } catch (error) {
    // The error carries what went wrong (a server's or nginx's last output): nothing to keep.
    await stop({ removeDir: true });
    throw error;
  }
}

// ------------------------------------------------------------ command line ---

function parseArgs(argv) {
  const options = { instances: 3, port: 3000, redis: false };
  for (const arg of argv) {
    const match = /^--(instances|port)=(\d+)$/.exec(arg);
    if (match) options[match[1]] = Number(match[2]);
    else if (arg === '--redis') options.redis = true;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else throw new Error(`unknown option "${arg}"`);
  }
  return options;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`cluster: ${error.message}`);
    options = { help: true, bad: true };
  }
  if (options.help) {
    console.error('usage: npm run cluster -- [--instances=N (default 3)] [--port=P (default 3000, nginx on 127.0.0.1)] [--redis]');
    console.error('  --redis  a Redis shared by the instances (rate-limit counters): REDIS_URL, else a throwaway redis-server');
    process.exit(options.bad ? 2 : 0);
  }

  let cluster = null;
  let stopping = false;
  const shutdown = async (why, code) => {
    if (stopping) return;
    stopping = true;
    const owned = cluster ? [cluster.ownsDatabase && 'PostgreSQL', cluster.ownsRedis && 'Redis'].filter(Boolean) : [];
    console.log(`\n${why}: stopping ${cluster ? `nginx, the instances${owned.length ? ` and ${owned.join(' and ')}` : ''}` : 'what has started so far'}…`);
    const hardStop = setTimeout(() => process.exit(code || 1), 40_000);
    hardStop.unref();
    await cluster?.stop().catch((error) => console.error(error));
    process.exit(code);
  };
  process.on('SIGINT', () => (stopping ? process.exit(130) : shutdown('SIGINT', 130)));
  process.on('SIGTERM', () => shutdown('SIGTERM', 143));
  process.on('SIGHUP', () => shutdown('SIGHUP', 129));

  try {
    console.log(`starting ${options.instances} instance(s) behind nginx on 127.0.0.1:${options.port}…`);
    cluster = await startCluster({ instances: options.instances, port: options.port, redis: options.redis, log: (line) => console.log(line) });
    if (stopping) {
      await cluster.stop();
    } else {
      console.log('');
      console.log(`ready: ${cluster.url}  (demo@example.com / demo-password-123)`);
      if (cluster.redisUrl) console.log(`redis: ${hidePassword(cluster.redisUrl)}  (rate-limit counters: redis-cli -u <url> --scan --pattern 'rate-limit:*')`);
      console.log(`each response names the instance that answered: curl -sI ${cluster.url}/api/health | grep -i x-instance`);
      console.log('Ctrl-C stops everything');
      // One of them dying on its own ends the whole thing (an instance's `exited`
      // follows its current process and does not settle for a deliberate restart()).
      const parts = [...cluster.instances, { id: 'nginx', ...cluster.nginx }, ...(cluster.redis ? [{ id: 'redis', ...cluster.redis }] : [])];
      for (const part of parts) {
        part.exited.then((info) => shutdown(`${part.id ?? 'nginx'} exited (${info?.code ?? info?.signal ?? '?'})`, 1));
      }
    }
  } catch (error) {
    console.error(`cluster: ${error?.message ?? error}`);
    await shutdown('error', 1);
  }
}
