import "server-only";
import { z } from "zod";
import { log } from "../platform/log";
import { revocationExperiment } from "./revocation";
import { sizeExperiment } from "./size";
import type { ClaimResult, LabEvent, LabRun } from "./types";

/**
 * The comparison lab's registry: every experiment, in the order the page
 * shows them. A new experiment is one file (an `Experiment`) plus one entry here;
 * the route's input schema and the page follow from this list.
 */
export const experiments = [revocationExperiment, sizeExperiment] as const;

export type ExperimentId = (typeof experiments)[number]["id"];

const experimentIds = experiments.map((experiment) => experiment.id) as [ExperimentId, ...ExperimentId[]];

/** The body of POST /api/compare/run: exactly one known experiment, nothing else. */
export const RunInputSchema = z.strictObject({ experiment: z.enum(experimentIds) });

/** What the page lists before anything runs (plain data for the client component). */
export function experimentSummaries(): { id: ExperimentId; title: string; summary: string }[] {
  return experiments.map(({ id, title, summary }) => ({ id, title, summary }));
}

/** Generic text for the client; the details go to the log. */
export const RUN_FAILED_MESSAGE = "The experiment failed. Please try again.";

// Runs take turns in this process: two at once would time each other's
// requests (the size experiment measures latency), and a queue bounds the load
// any number of visitors can put on the server to one run at a time.
let queue: Promise<unknown> = Promise.resolve();
let waiting = 0;

function inTurn<T>(task: () => Promise<T>, onWait: () => void): Promise<T> {
  if (waiting > 0) onWait();
  waiting += 1;
  const turn = queue.then(task, task);
  queue = turn.catch(() => undefined).finally(() => {
    waiting -= 1;
  });
  return turn;
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
 * The run as newline-delimited JSON, one event per line, written as it happens.
 * The run goes on if the reader goes away: its throwaway account is removed
 * either way (lib/lab/throwaway.ts).
 */
export function runAsNdjson(id: ExperimentId, lab: Omit<LabRun, "progress">): ReadableStream<Uint8Array> {
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
      void runExperiment(id, lab, emit).finally(() => {
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
