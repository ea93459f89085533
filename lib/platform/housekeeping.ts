import "server-only";
import { log } from "./log";

/**
 * Housekeeping that runs off the request path, at most once per interval per
 * process (purging expired rows, for instance): called from a busy path, it
 * keeps tables small without a scheduler. The last run is kept on globalThis,
 * because the proxy and the app are bundled separately but share the process.
 * A failure is logged as a warning and retried at the next interval.
 */
const lastRunKey = Symbol.for("session-or-token.housekeeping");
type GlobalWithRuns = typeof globalThis & { [lastRunKey]?: Map<string, number> };

export function nowAndThen(task: string, intervalMs: number, now: Date, run: () => Promise<number>): void {
  const holder = globalThis as GlobalWithRuns;
  const lastRuns = (holder[lastRunKey] ??= new Map());
  const last = lastRuns.get(task);
  if (last !== undefined && now.getTime() - last < intervalMs) return;
  lastRuns.set(task, now.getTime());
  run().then(
    (count) => count > 0 && log.info(`${task}.done`, { count }),
    (error: unknown) => log.warn(`${task}.failed`, { error }),
  );
}
