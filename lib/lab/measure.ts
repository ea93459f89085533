import "server-only";
import { hotPathReads } from "../platform/db";
import { median } from "./loopback";

/**
 * Timing a step in this process, and counting the store reads it makes with
 * the hot-path read counter (lib/platform/db.ts: every statement run through
 * queryRows — the per-request session and user lookups; not Prisma Client
 * queries such as the once-a-minute "last seen" write, not Redis). The counter
 * belongs to the whole process, so a request of another visitor that runs
 * while a step awaits adds to that step's count: each step is counted on its
 * own and the median taken, which a few disturbed steps cannot move, and the
 * disturbed ones are counted so the page can say so.
 */

export interface ReadCount {
  /** Median reads per step, less the baseline (what a step that reads nothing showed). */
  perStep: number;
  /** Steps whose count differed from the median: other traffic in the process, most likely. */
  disturbed: number;
}

export function readCount(samples: readonly number[], baseline = 0): ReadCount {
  const middle = median(samples);
  return { perStep: Math.max(0, middle - baseline), disturbed: samples.filter((sample) => sample !== middle).length };
}

export interface StepCost {
  /** Median time of one step, in microseconds. */
  medianMicros: number;
  reads: ReadCount;
  steps: number;
}

/** Runs `step` `rounds` times, one after another, timing each and counting its reads. */
export async function timeSteps(step: () => Promise<unknown>, rounds: number): Promise<StepCost> {
  const micros: number[] = [];
  const reads: number[] = [];
  for (let index = 0; index < rounds; index += 1) {
    const readsBefore = hotPathReads();
    const before = performance.now();
    await step();
    micros.push((performance.now() - before) * 1000);
    reads.push(hotPathReads() - readsBefore);
  }
  return { medianMicros: median(micros), reads: readCount(reads), steps: rounds };
}

/** "12 µs", "1.4 ms". */
export function formatMicros(micros: number): string {
  return micros < 1000 ? `${micros.toFixed(0)} µs` : `${(micros / 1000).toFixed(micros < 10_000 ? 2 : 1)} ms`;
}

/** "1 read", "0 reads", "0.5 reads". */
export function formatReads(reads: number): string {
  const shown = Number.isInteger(reads) ? String(reads) : reads.toFixed(2);
  return `${shown} read${reads === 1 ? "" : "s"}`;
}
