#!/usr/bin/env node
// Many app instances behind a load balancer, on one shared PostgreSQL:
//
//   browser ──► nginx 127.0.0.1:<port> (round-robin, no sticky sessions)
//                 ├─► app-1  server.mjs on 127.0.0.1:<free port>  ─┐
//                 ├─► app-2  …                                     ├─► PostgreSQL
//                 └─► app-N  …                                    ─┘   (+ one keys file)
//
// - PostgreSQL: DATABASE_URL when it is a postgresql:// URL, otherwise a
//   throwaway cluster (scripts/pg-cluster.mjs); migrated and seeded with
//   scripts/setup.mjs, which also creates the signing keys in KEYS_FILE (default:
//   keys.json in the cluster's temp directory) — one file all instances read.
// - N production instances (server.mjs via scripts/app-process.mjs) with
//   INSTANCE_ID=app-1…app-N (sent back as `X-Instance`), TRUSTED_PROXY_HOPS=1
//   (the client address is the one nginx appended to X-Forwarded-For) and
//   APP_URL = the nginx address. Everything else (REVOCATION_MODE, RATE_LIMIT_*, …)
//   passes through from the environment.
// - Debian's nginx (/usr/sbin/nginx, or NGINX_BIN) as a child process with its
//   config, pid file, temp paths and logs in the temp directory.
//
// Everything started here is stopped again by stop(), on Ctrl-C / SIGTERM in
// command-line mode, and (synchronously, as a last resort) when this process exits.
//
// Library use:
//   import { startCluster } from './cluster.mjs';
//   const cluster = await startCluster({ instances: 3, port: 0, env: { RATE_LIMIT_SIGNIN_PER_IP: '500' } });
//   ... cluster.url, cluster.instances[0].url, cluster.databaseUrl, cluster.keysFile ...
//   await cluster.stop();
//
// Command line (runs until Ctrl-C; needs a production build: `npm run build`):
//   npm run cluster -- [--instances=3] [--port=3000]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, freePort, killGroup, startServer } from './app-process.mjs';
import { startPgCluster } from './pg-cluster.mjs';

const DEFAULT_NGINX = '/usr/sbin/nginx';
const MAX_INSTANCES = 16;

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Path of the nginx binary, or null when it is not installed. NGINX_BIN, when set, is the only candidate. */
export function findNginx() {
  const candidates = process.env.NGINX_BIN ? [process.env.NGINX_BIN] : [DEFAULT_NGINX, '/usr/bin/nginx'];
  for (const file of candidates) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      /* not there */
    }
  }
  return null;
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
  // root for `nobody`, can use their temp paths; the keys file in it is 0600.
  const dir = fs.mkdtempSync(path.join(options.parentDir ?? os.tmpdir(), 'sot-cluster-'));
  fs.chmodSync(dir, 0o755);
  liveDirs.add(dir);
  const nginxDir = path.join(dir, 'nginx');
  fs.mkdirSync(nginxDir);

  let pg = null;
  let nginx = null;
  const servers = [];
  let stopped = false;
  const stop = async ({ removeDir = !options.keepDir } = {}) => {
    if (stopped) return;
    stopped = true;
    await nginx?.stop().catch(() => {});
    await Promise.allSettled(servers.map((server) => server.stop()));
    await pg?.stop().catch(() => {});
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
    const keysFile = extraEnv.KEYS_FILE ?? path.join(dir, 'keys.json');
    const shared = { ...extraEnv, DATABASE_URL: databaseUrl, KEYS_FILE: keysFile, NEXT_TELEMETRY_DISABLED: '1' };

    const setupLog = path.join(dir, 'setup.log');
    await runSetup(shared, setupLog);
    say(`migrated and seeded; signing keys in ${keysFile}`);

    // -- app instances (in parallel; each on a free loopback port)
    const started = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: count }, async (_, index) => {
        const id = `app-${index + 1}`;
        const logFile = path.join(dir, `${id}.log`);
        const server = await startServer({
          env: { ...shared, NODE_ENV: 'production', TRUSTED_PROXY_HOPS: '1', INSTANCE_ID: id, APP_URL: url },
          logFile,
          timeoutMs: 120_000,
        });
        servers.push(server);
        return { id, url: server.url, port: server.port, logFile, server };
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

    return {
      url,
      port,
      dir,
      databaseUrl,
      ownsDatabase: pg !== null,
      keysFile,
      instances: instances.map(({ id, url: instanceUrl, port: instancePort, logFile, server }) => ({
        id,
        url: instanceUrl,
        port: instancePort,
        logFile,
        get running() {
          return server.running;
        },
        output: () => server.output(),
        exited: server.exited,
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
  const options = { instances: 3, port: 3000 };
  for (const arg of argv) {
    const match = /^--(instances|port)=(\d+)$/.exec(arg);
    if (match) options[match[1]] = Number(match[2]);
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
    console.error('usage: npm run cluster -- [--instances=N (default 3)] [--port=P (default 3000, nginx on 127.0.0.1)]');
    process.exit(options.bad ? 2 : 0);
  }

  let cluster = null;
  let stopping = false;
  const shutdown = async (why, code) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${why}: stopping ${cluster ? `nginx, the instances${cluster.ownsDatabase ? ' and PostgreSQL' : ''}` : 'what has started so far'}…`);
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
    cluster = await startCluster({ instances: options.instances, port: options.port, log: (line) => console.log(line) });
    if (stopping) {
      await cluster.stop();
    } else {
      console.log('');
      console.log(`ready: ${cluster.url}  (demo@example.com / demo-password-123)`);
      console.log(`each response names the instance that answered: curl -sI ${cluster.url}/api/health | grep -i x-instance`);
      console.log('Ctrl-C stops everything');
      // One of them dying on its own ends the whole thing.
      for (const part of [...cluster.instances, { id: 'nginx', ...cluster.nginx }]) {
        part.exited.then((info) => shutdown(`${part.id ?? 'nginx'} exited (${info?.code ?? info?.signal ?? '?'})`, 1));
      }
    }
  } catch (error) {
    console.error(`cluster: ${error?.message ?? error}`);
    await shutdown('error', 1);
  }
}
