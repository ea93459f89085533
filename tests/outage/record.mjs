// What the outage tests observed, recorded for the comparison lab's "outage"
// experiment (lib/lab/outage.ts validates and shows it): data/results/outage.json,
// one entry per run (what was stopped, under which revocation mode), each
// request's status before, during and after the outage. Each test file
// replaces only its own runs; files run in parallel processes, so the
// read-merge-write happens under a lock file and lands with a rename.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/app-process.mjs';

export const OUTAGE_RESULTS_FILE = path.join(ROOT, 'data', 'results', 'outage.json');
const LOCK_WAIT_MS = 10_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A request's answers: start with `observe(key, request, credential)`, then set baseline / outage / recovered. */
export function observations() {
  const list = [];
  return {
    list,
    observe(key, request, credential) {
      const entry = { key, request, credential, baseline: null, outage: null, recovered: null };
      list.push(entry);
      return entry;
    },
  };
}

function readExisting() {
  try {
    const parsed = JSON.parse(fs.readFileSync(OUTAGE_RESULTS_FILE, 'utf8'));
    return parsed && parsed.version === 1 && parsed.runs && typeof parsed.runs === 'object' ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * Replaces the named runs in data/results/outage.json.
 * @param {Record<string, { unavailable: 'database' | 'redis', database: 'postgresql' | 'sqlite', revocationMode: string, requests: object[] }>} runs
 */
export async function recordOutage(runs) {
  fs.mkdirSync(path.dirname(OUTAGE_RESULTS_FILE), { recursive: true });
  const lock = `${OUTAGE_RESULTS_FILE}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  let handle = null;
  while (handle === null) {
    try {
      handle = fs.openSync(lock, 'wx');
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      // A lock left by a run that was killed mid-write is older than any live one.
      if (Date.now() > deadline) fs.rmSync(lock, { force: true });
      else await sleep(50);
    }
  }
  try {
    const recordedAt = new Date().toISOString();
    const file = readExisting() ?? { version: 1, runs: {} };
    for (const [name, run] of Object.entries(runs)) file.runs[name] = { recordedAt, ...run };
    const temporary = `${OUTAGE_RESULTS_FILE}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`);
    fs.renameSync(temporary, OUTAGE_RESULTS_FILE);
  } finally {
    fs.closeSync(handle);
    fs.rmSync(lock, { force: true });
  }
}
