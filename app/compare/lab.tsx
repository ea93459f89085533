"use client";

import { useState } from "react";
import type { ExperimentId } from "@/lib/lab";
import { RUN_ALL } from "@/lib/lab/run-all";
import type { Chart, ClaimResult, LabEvent, Table, Tone } from "@/lib/lab/types";
import styles from "./compare.module.css";
import { BROWSER_DEMOS, BrowserDemo } from "./demo-frame";

interface ExperimentSummary {
  id: ExperimentId;
  title: string;
  summary: string;
}

type RunState =
  | { status: "idle" }
  | { status: "running"; progress: string[] }
  | { status: "done"; progress: string[]; claims: ClaimResult[] }
  | { status: "failed"; progress: string[]; message: string };

const GENERIC_FAILURE = "The experiment could not be run. Please try again.";

/** One line of the server's stream, checked before it is trusted as an event. */
function parseEvent(line: string): LabEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || !("type" in value) || !("experiment" in value)) return null;
  if ((value.type === "progress" || value.type === "error") && "message" in value && typeof value.message === "string") return value as LabEvent;
  if (value.type === "result" && "claims" in value && Array.isArray(value.claims)) return value as LabEvent;
  return null;
}

async function* events(response: Response): AsyncGenerator<LabEvent> {
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffered += value;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      const event = line.trim() ? parseEvent(line) : null;
      if (event) yield event;
    }
    if (done) return;
  }
}

/** What a refused run is told, from the status and the server's error code. */
async function failureText(response: Response): Promise<string> {
  const body: unknown = await response.json().catch(() => null);
  const code = typeof body === "object" && body !== null && "error" in body ? body.error : null;
  const retryAfter = Number(response.headers.get("retry-after"));
  const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? ` Try again in ${retryAfter > 90 ? `${Math.ceil(retryAfter / 60)} minutes` : `${retryAfter} seconds`}.` : "";
  if (response.status === 429 && code === "run_in_progress") return `A run from your address is still going on.${wait}`;
  if (response.status === 429) return `Too many runs from your address.${wait || " Try again later."}`;
  if (response.status === 503 && code === "busy") return `The server is busy with other visitors' runs.${wait}`;
  return GENERIC_FAILURE;
}

const progressOf = (state: RunState): string[] => ("progress" in state ? state.progress : []);

/** The lab: a Run button per experiment, Run all, the progress as it streams, each claim, and after Run all a summary. */
export function CompareLab({ experiments, demoOrigins }: { experiments: ExperimentSummary[]; demoOrigins: readonly string[] }) {
  const [runs, setRuns] = useState<Partial<Record<ExperimentId, RunState>>>({});
  const [ranAll, setRanAll] = useState(false);
  const busy = Object.values(runs).some((run) => run?.status === "running");

  const update = (id: ExperimentId, next: (previous: RunState) => RunState) =>
    setRuns((current) => ({ ...current, [id]: next(current[id] ?? { status: "idle" }) }));

  /** One run on the server: one experiment, or all of them in order (one request, one turn of the rate limit). */
  async function run(ids: ExperimentId[], experiment: ExperimentId | typeof RUN_ALL): Promise<void> {
    for (const id of ids) update(id, () => ({ status: "running", progress: [] }));
    const finished = new Set<ExperimentId>();
    const fail = (id: ExperimentId, message: string) => update(id, (previous) => ({ status: "failed", progress: progressOf(previous), message }));
    try {
      const response = await fetch("/api/compare/run", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ experiment }),
      });
      if (!response.ok) {
        const message = await failureText(response);
        for (const id of ids) fail(id, message);
        return;
      }
      for await (const event of events(response)) {
        const id = ids.find((candidate) => candidate === event.experiment);
        if (!id) continue;
        if (event.type === "progress") {
          update(id, (previous) => ({ status: "running", progress: [...progressOf(previous), event.message] }));
        } else if (event.type === "result") {
          finished.add(id);
          update(id, (previous) => ({ status: "done", progress: progressOf(previous), claims: event.claims }));
        } else {
          finished.add(id);
          fail(id, event.message);
        }
      }
    } catch {
      // A dropped connection: said in general words, like every failure.
    }
    for (const id of ids) if (!finished.has(id)) fail(id, GENERIC_FAILURE);
  }

  async function runAll(): Promise<void> {
    setRanAll(true);
    await run(
      experiments.map((experiment) => experiment.id),
      RUN_ALL,
    );
  }

  const allFinished = experiments.every((experiment) => {
    const status = runs[experiment.id]?.status;
    return status === "done" || status === "failed";
  });

  return (
    <>
      <p>
        <button type="button" onClick={() => void runAll()} disabled={busy}>
          Run all
        </button>
      </p>
      {ranAll && allFinished && <Summary experiments={experiments} runs={runs} />}
      {experiments.map((experiment) => {
        const state = runs[experiment.id] ?? { status: "idle" };
        return (
          <section key={experiment.id} className={`card ${styles.experiment}`} aria-labelledby={`experiment-${experiment.id}`} data-testid={`experiment-${experiment.id}`}>
            <h2 id={`experiment-${experiment.id}`}>{experiment.title}</h2>
            <p>
              Claim: <q>{experiment.summary}</q>
            </p>
            <div className={styles.controls}>
              <button type="button" aria-label={`Run ${experiment.title}`} onClick={() => void run([experiment.id], experiment.id)} disabled={busy}>
                Run
              </button>
              <span role="status" aria-live="polite">
                {state.status === "running" && `Running… ${state.progress[state.progress.length - 1] ?? ""}`}
                {state.status === "done" && "Done."}
              </span>
            </div>
            {state.status !== "idle" && state.progress.length > 0 && (
              <ol className={styles.progress} aria-label={`${experiment.title} progress`}>
                {state.progress.map((message, index) => (
                  <li key={index}>{message}</li>
                ))}
              </ol>
            )}
            {state.status === "failed" && <p role="alert" className="alert">{state.message}</p>}
            {state.status === "done" && state.claims.map((claim) => <ClaimView key={claim.id} claim={claim} />)}
            {state.status === "done" && BROWSER_DEMOS.has(experiment.id) && (
              <BrowserDemo experiment={experiment.id} origins={demoOrigins} renderClaim={(claim) => <ClaimView claim={claim} />} />
            )}
          </section>
        );
      })}
    </>
  );
}

/** Every claim of a "Run all" in one table: each side's figures (by the columns' tone) and the verdict. */
function Summary({ experiments, runs }: { experiments: ExperimentSummary[]; runs: Partial<Record<ExperimentId, RunState>> }) {
  const side = (claim: ClaimResult, tone: Tone) => {
    const columns = claim.columns.filter((column) => column.tone === tone);
    if (columns.length === 0) return "—";
    return (
      <ul className={styles.figures}>
        {columns.map((column) => (
          <li key={column.key}>
            {column.heading}: <strong>{column.figure}</strong>
          </li>
        ))}
      </ul>
    );
  };
  return (
    <section className="card" aria-labelledby="summary-heading" data-testid="summary">
      <h2 id="summary-heading">Every claim at a glance</h2>
      <div className={styles.tableScroll} role="group" aria-label="Every claim at a glance (table)" tabIndex={0}>
        <table className={styles.table}>
          <caption>The figures measured by this run, and each verdict</caption>
          <thead>
            <tr>
              <th scope="col">Claim</th>
              <th scope="col">Database session</th>
              <th scope="col">JWT</th>
              <th scope="col">Verdict</th>
            </tr>
          </thead>
          <tbody>
            {experiments.flatMap((experiment) => {
              const state = runs[experiment.id];
              if (state?.status !== "done") {
                return [
                  <tr key={experiment.id} data-testid={`summary-${experiment.id}`}>
                    <th scope="row">{experiment.title}</th>
                    <td colSpan={3}>{state?.status === "failed" ? state.message : "Not run."}</td>
                  </tr>,
                ];
              }
              return state.claims.map((claim) => (
                <tr key={claim.id} data-testid={`summary-${claim.id}`}>
                  <th scope="row">{claim.claim}</th>
                  <td>{side(claim, "session")}</td>
                  <td>{side(claim, "token")}</td>
                  <td>{claim.verdict}</td>
                </tr>
              ));
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ClaimView({ claim }: { claim: ClaimResult }) {
  const headingId = `claim-${claim.id}`;
  return (
    <article className={styles.claim} aria-labelledby={headingId} data-testid={headingId}>
      <h3 id={headingId}>{claim.claim}</h3>
      <p>
        <strong>Measured:</strong> {claim.measured}
      </p>
      <div className={styles.columns}>
        {claim.columns.map((column) => (
          <section key={column.key} className={`${styles.column} ${styles[column.tone]}`} aria-label={column.heading} data-testid={`column-${column.key}`}>
            <h4>{column.heading}</h4>
            <p className={styles.figure}>{column.figure}</p>
            <p className={styles.detail}>{column.detail}</p>
          </section>
        ))}
      </div>
      {claim.charts.map((chart) => (
        <BarChart key={chart.title} chart={chart} />
      ))}
      {claim.tables.map((table) => (
        <FigureTable key={table.caption} table={table} />
      ))}
      <p className={styles.verdict} data-testid="verdict">
        <strong>Verdict:</strong> {claim.verdict}
      </p>
      <p className={styles.caveat} data-testid="caveat">
        <strong>Caveat:</strong> {claim.caveat}
      </p>
    </article>
  );
}

const WIDTH = 860;
const LABEL_WIDTH = 290;
const VALUE_WIDTH = 240;
const ROW = 26;
const TOP = 26;
/** Each limit's label gets a line of its own under the bars, so neighbouring limits never overlap. */
const MARKER_LINE = 16;

/** A horizontal bar chart drawn by hand; the same numbers are in the table below it. */
function BarChart({ chart }: { chart: Chart }) {
  const markers = chart.markers ?? [];
  const max = Math.max(1e-9, ...chart.bars.map((bar) => bar.value), ...markers.map((marker) => marker.value));
  const plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const x = (value: number) => LABEL_WIDTH + (value / max) * plot;
  const barsBottom = TOP + chart.bars.length * ROW;
  const height = barsBottom + 6 + markers.length * MARKER_LINE;
  const description = `${chart.title} (${chart.unit}): ${chart.bars.map((bar) => `${bar.label} ${bar.display}${bar.flag ? `, ${bar.flag}` : ""}`).join("; ")}`;
  return (
    <svg className={styles.chart} viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label={description}>
      <text x={0} y={14} fontWeight={600}>
        {chart.title}
      </text>
      {chart.bars.map((bar, index) => {
        const y = TOP + index * ROW;
        const width = bar.value > 0 ? Math.max(1, x(bar.value) - LABEL_WIDTH) : 0;
        return (
          <g key={bar.key}>
            <text x={0} y={y + 15}>
              {bar.label.length > 44 ? `${bar.label.slice(0, 43)}…` : bar.label}
            </text>
            <rect className={`${styles.bar} ${styles[bar.tone]}`} x={LABEL_WIDTH} y={y + 3} width={width} height={ROW - 8} />
            <text x={LABEL_WIDTH + width + 6} y={y + 15} className={bar.flag ? styles.flag : undefined}>
              {bar.display}
              {bar.flag ? ` — ${bar.flag}` : ""}
            </text>
          </g>
        );
      })}
      {markers.map((marker, index) => {
        const labelY = barsBottom + 6 + (index + 1) * MARKER_LINE - 4;
        return (
          <g key={marker.label}>
            <line className={styles.marker} x1={x(marker.value)} x2={x(marker.value)} y1={TOP - 2} y2={labelY + 2} />
            <text className={styles.markerLabel} x={x(marker.value) + 4} y={labelY}>
              {marker.label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function FigureTable({ table }: { table: Table }) {
  return (
    <div className={styles.tableScroll} role="group" aria-label={`${table.caption} (table)`} tabIndex={0}>
      <table className={styles.table}>
        <caption>{table.caption}</caption>
        <thead>
          <tr>
            {table.columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.map((row) => (
            <tr key={row.key} data-testid={`row-${row.key}`}>
              {row.cells.map((cell, index) =>
                index === 0 ? (
                  <th key={index} scope="row">
                    {cell}
                  </th>
                ) : (
                  <td key={index}>{cell}</td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
