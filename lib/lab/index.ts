import "server-only";
import { z } from "zod";
import { log } from "../platform/log";
import { costExperiment } from "./cost";
import { csrfExperiment } from "./csrf";
import { downstreamExperiment } from "./downstream";
import { hybridExperiment } from "./hybrid";
import { outageExperiment } from "./outage";
import { revocationExperiment } from "./revocation";
import { RUN_ALL } from "./run-all";
import { scalingExperiment } from "./scaling";
import { sizeExperiment } from "./size";
import type { ClaimResult, LabEvent, LabRun } from "./types";
import { xssExperiment } from "./xss";

/**
 * The comparison lab's registry: every experiment, in the order the page
 * shows them. A new experiment is one file (an `Experiment`) plus one entry here;
 * the route's input schema and the page follow from this list.
 */
export const experiments = [
  revocationExperiment,
  sizeExperiment,
  downstreamExperiment,
  xssExperiment,
  csrfExperiment,
  costExperiment,
  hybridExperiment,
  scalingExperiment,
  outageExperiment,
] as const;

export type ExperimentId = (typeof experiments)[number]["id"];

const experimentIds = experiments.map((experiment) => experiment.id) as [ExperimentId, ...ExperimentId[]];

export type RunSelection = ExperimentId | typeof RUN_ALL;

/** The body of POST /api/compare/run: one known experiment or "all", nothing else. */
export const RunInputSchema = z.strictObject({ experiment: z.enum([...experimentIds, RUN_ALL]) });

/** What the page lists before anything runs (plain data for the client component). */
export function experimentSummaries(): { id: ExperimentId; title: string; summary: string }[] {
  return experiments.map(({ id, title, summary }) => ({ id, title, summary }));
}

/** Generic text for the client; the details go to the log. */
export const RUN_FAILED_MESSAGE = "The experiment failed. Please try again.";

// Experiments take turns in this process: two at once would time each other's
// requests (the size experiment measures latency), so the load any number of
// visitors can put on the server is one experiment at a time.
let queue: Promise<unknown> = Promise.resolve();
let turnsTaken = 0;

function inTurn<T>(task: () => Promise<T>, onWait: () => void): Promise<T> {
  if (turnsTaken > 0) onWait();
  turnsTaken += 1;
  const turn = queue.then(task, task);
  queue = turn.catch(() => undefined).finally(() => {
    turnsTaken -= 1;
  });
  return turn;
}

/**
 * Admission, per process: one run at a time per client address (a second one
 * while the first goes on is refused, not queued), and at most this many runs
 * admitted at once from everyone together — beyond that the server is busy and
 * says so, rather than queueing without end.
 */
export const MAX_RUNS_ADMITTED = 4;
const clientsRunning = new Set<string>();

export type RunAdmission =
  | { admitted: true; stream: ReadableStream<Uint8Array> }
  | { admitted: false; reason: "client-busy" | "server-busy" };

/**
 * Admits a run for `client` (its address) and returns its event stream, or
 * says why not. The client stays busy until the run has ended — also when the
 * reader went away, because the run goes on until its throwaway accounts are
 * gone.
 */
export function admitRun(client: string, selection: RunSelection, lab: Omit<LabRun, "progress">): RunAdmission {
  if (clientsRunning.has(client)) return { admitted: false, reason: "client-busy" };
  if (clientsRunning.size >= MAX_RUNS_ADMITTED) return { admitted: false, reason: "server-busy" };
  clientsRunning.add(client);
  const ids = selection === RUN_ALL ? experiments.map((experiment) => experiment.id) : [selection];
  return { admitted: true, stream: runAsNdjson(ids, lab, () => clientsRunning.delete(client)) };
}

/** Runs one experiment; every event (progress, then the result or a generic error) goes to `emit`. */
export async function runExperiment(id: ExperimentId, lab: Omit<LabRun, "progress">, emit: (event: LabEvent) => void): Promise<void> {
  const experiment = experiments.find((candidate) => candidate.id === id);
  if (!experiment) throw new TypeError(`unknown experiment ${id}`);
  const progress = (message: string) => emit({ type: "progress", experiment: id, message });
  try {
    const claims: ClaimResult[] = await inTurn(
      () => {
        progress(`Running: ${experiment.title}`);
        return experiment.run({ ...lab, progress });
      },
      () => progress("Waiting for another run on this server to finish"),
    );
    emit({ type: "result", experiment: id, claims });
  } catch (error) {
    log.error("lab.run_failed", { experiment: id, error });
    emit({ type: "error", experiment: id, message: RUN_FAILED_MESSAGE });
  }
}

/**
 * The run (its experiments one after another) as newline-delimited JSON, one
 * event per line, written as it happens. The run goes on if the reader goes
 * away: its throwaway accounts are removed either way (lib/lab/throwaway.ts);
 * `onEnd` is called once it has.
 */
function runAsNdjson(ids: readonly ExperimentId[], lab: Omit<LabRun, "progress">, onEnd: () => void): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let open = true;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const emit = (event: LabEvent) => {
        if (!open) return;
        try {
          controller.enqueue(encoder.encode(`${JSON.stringify(event)}\n`));
        } catch {
          open = false;
        }
      };
      void (async () => {
        for (const id of ids) await runExperiment(id, lab, emit);
      })()
        .catch((error: unknown) => log.error("lab.run_failed", { error }))
        .finally(() => {
          onEnd();
          if (!open) return;
          open = false;
          controller.close();
        });
    },
    cancel() {
      open = false;
    },
  });
}
