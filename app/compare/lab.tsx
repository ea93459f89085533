"use client";

import { useState } from "react";
import type { ExperimentId } from "@/lib/lab";
import type { Chart, ClaimResult, LabEvent, Table } from "@/lib/lab/types";
import styles from "./compare.module.css";

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

function failureText(status: number): string {
  if (status === 429) return "Too many runs from your address. Try again later.";
  return GENERIC_FAILURE;
}

/** The lab: a Run button per experiment, Run all, the progress as it streams, then each claim. */
export function CompareLab({ experiments }: { experiments: ExperimentSummary[] }) {
  const [runs, setRuns] = useState<Partial<Record<ExperimentId, RunState>>>({});
  const busy = Object.values(runs).some((run) => run?.status === "running");

  const update = (id: ExperimentId, next: (previous: RunState) => RunState) =>
    setRuns((current) => ({ ...current, [id]: next(current[id] ?? { status: "idle" }) }));

  async function run(id: ExperimentId): Promise<void> {
    update(id, () => ({ status: "running", progress: [] }));
    let finished = false;
    try {
      const response = await fetch("/api/compare/run", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ experiment: id }),
      });
      if (!response.ok) {
        update(id, (previous) => ({ status: "failed", progress: "progress" in previous ? previous.progress : [], message: failureText(response.status) }));
        return;
      }
      for await (const event of events(response)) {
        if (event.type === "progress") {
          update(id, (previous) => ({ status: "running", progress: [...("progress" in previous ? previous.progress : []), event.message] }));
        } else if (event.type === "result") {
          finished = true;
          update(id, (previous) => ({ status: "done", progress: "progress" in previous ? previous.progress : [], claims: event.claims }));
        } else {
          finished = true;
          update(id, (previous) => ({ status: "failed", progress: "progress" in previous ? previous.progress : [], message: event.message }));
        }
      }
    } catch {
      // A dropped connection: said in general words, like every failure.
    }
    if (!finished) update(id, (previous) => ({ status: "failed", progress: "progress" in previous ? previous.progress : [], message: GENERIC_FAILURE }));
  }

  async function runAll(): Promise<void> {
    // One after the other: the server runs them in turn anyway, and the size figures stay undisturbed.
    for (const experiment of experiments) await run(experiment.id);
  }

  return (
    <>
      <p>
        <button type="button" onClick={() => void runAll()} disabled={busy}>
          Run all
        </button>
      </p>
      {experiments.map((experiment) => {
        const state = runs[experiment.id] ?? { status: "idle" };
        return (
          <section key={experiment.id} className={`card ${styles.experiment}`} aria-labelledby={`experiment-${experiment.id}`} data-testid={`experiment-${experiment.id}`}>
            <h2 id={`experiment-${experiment.id}`}>{experiment.title}</h2>
            <p>
              Claim: <q>{experiment.summary}</q>
            </p>
            <div className={styles.controls}>
              <button type="button" aria-label={`Run ${experiment.title}`} onClick={() => void run(experiment.id)} disabled={busy}>
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
          </section>
        );
      })}
    </>
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
          <section key={column.key} className={styles.column} aria-label={column.heading} data-testid={`column-${column.key}`}>
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
  );
}
