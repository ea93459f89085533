#!/usr/bin/env node
// A throwaway PostgreSQL cluster for tests: initdb into a temp directory, start
// it on 127.0.0.1 and a free port, create one database, hand back its URL, and
// later stop it and delete the directory.
//
// initdb refuses to run as root, so when this process is root the data
// directory is given to the `postgres` user and the server tools run through
// `runuser -u postgres --`. The cluster uses trust authentication and listens on
// loopback only.
//
// Library use:
//   import { findPgBin, startPgCluster } from './pg-cluster.mjs';
//   const pg = await startPgCluster({ database: 'sot_test' });
//   ... pg.url ...
//   await pg.stop();
//
// Command line (runs until Ctrl-C):
//   node scripts/pg-cluster.mjs [--database=name]
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './app-process.mjs';

const run = promisify(execFile);
const PREFERRED_BIN = '/usr/lib/postgresql/15/bin';
const REQUIRED_TOOLS = ['initdb', 'pg_ctl', 'postgres', 'createdb'];

/** Clusters started by this process and not yet stopped. */
const live = new Set();
process.on('exit', () => {
  for (const cluster of live) cluster.stopSync();
});

/**
 * Directory holding the PostgreSQL server binaries, or null when they are not
 * installed. PG_BIN overrides; otherwise version 15, else the newest installed.
 */
export function findPgBin() {
  const candidates = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  candidates.push(PREFERRED_BIN);
  try {
    const versions = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) candidates.push(`/usr/lib/postgresql/${version}/bin`);
  } catch {
    /* no /usr/lib/postgresql */
  }
  for (const dir of candidates) {
    if (REQUIRED_TOOLS.every((tool) => isExecutable(path.join(dir, tool)))) return dir;
  }
  return null;
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function postgresIds() {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error('running as root but there is no `postgres` user to own the cluster (install postgresql)');
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** [command, args] that run a server tool as the cluster's owner. */
function asOwner(bin, tool, args) {
  const file = path.join(bin, tool);
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
}

function tailOf(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

const quote = (value) => `'${String(value).replace(/'/g, `'\\''`)}'`;

/**
 * Create and start a cluster.
 * @param {object} [options]
 * @param {string} [options.database] database to create (default "sot_test")
 * @param {string} [options.bin] directory with the server binaries (default findPgBin())
 * @param {string} [options.parentDir] where the temp directory goes (default os.tmpdir())
 * @returns {Promise<{url: string, port: number, dir: string, database: string, log: string,
 *   stop: () => Promise<void>, stopSync: () => void, pause: () => Promise<void>, resume: () => Promise<void>}>}
 */
export async function startPgCluster(options = {}) {
  const bin = options.bin ?? findPgBin();
  if (!bin) throw new Error('PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin)');
  const database = options.database ?? 'sot_test';
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`unsafe database name: ${database}`);

  const dir = fs.mkdtempSync(path.join(options.parentDir ?? os.tmpdir(), 'sot-pg-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    fs.chownSync(dir, uid, gid);
  }
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  const exec = (tool, args) => {
    const [cmd, argv] = asOwner(bin, tool, args);
    return run(cmd, argv, { env, cwd: dir, timeout: 60_000 });
  };

  let started = false;
  const stopSync = () => {
    live.delete(cluster);
    if (started) {
      const [cmd, argv] = asOwner(bin, 'pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '20', 'stop']);
      spawnSync(cmd, argv, { env, cwd: dir, stdio: 'ignore', timeout: 30_000 });
      started = false;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const stop = async () => {
    live.delete(cluster);
    if (started) {
      try {
        await exec('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '20', 'stop']);
      } catch {
        // fall back to an immediate shutdown so nothing is left behind
        await exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      }
      started = false;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  let serverOptions = '';
  // Take the server down and bring it back on the same port and data (outage tests).
  const pause = async () => {
    if (!started) return;
    await exec('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '20', 'stop']);
    started = false;
  };
  const resume = async () => {
    if (started) return;
    await exec('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '30', '-o', serverOptions, 'start']);
    started = true;
  };
  const cluster = { url: '', port: 0, dir, database, log: logFile, stop, stopSync, pause, resume };
  live.add(cluster);

  try {
    await exec('initdb', [
      '-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions',
    ]);

    let lastError;
    for (let attempt = 1; attempt <= 3 && !started; attempt++) {
      const port = await freePort();
      serverOptions = [
        `-p ${port}`,
        `-c listen_addresses=127.0.0.1`,
        `-c unix_socket_directories=${quote(dir)}`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=100',
      ].join(' ');
      try {
        await exec('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '30', '-o', serverOptions, 'start']);
        started = true;
        cluster.port = port;
      } catch (error) {
        lastError = error;
        if (!/could not bind|already in use/i.test(tailOf(logFile))) break;
      }
    }
    if (!started) throw lastError ?? new Error('pg_ctl start failed');

    await run(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'postgres', database], {
      env,
      timeout: 30_000,
    });
    cluster.url = `postgresql://postgres@127.0.0.1:${cluster.port}/${database}`;
    return cluster;
  } catch (error) {
    const details = [error?.stderr, tailOf(logFile)].filter(Boolean).join('\n');
    await stop().catch(() => {});
    throw new Error(`could not start PostgreSQL: ${error?.message ?? error}\n${details}`);
  }
}

// Command-line mode.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dbArg = process.argv.find((arg) => arg.startsWith('--database='));
  try {
    const cluster = await startPgCluster({ database: dbArg ? dbArg.slice('--database='.length) : undefined });
    console.log(cluster.url);
    console.error(`cluster in ${cluster.dir}; Ctrl-C stops it and removes the directory`);
    const shutdown = async () => {
      await cluster.stop();
      process.exit(0);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    setInterval(() => {}, 1 << 30); // stay alive until a signal arrives
  } catch (error) {
    console.error(String(error?.message ?? error));
    process.exit(1);
  }
}
