import "server-only";
import type { ClientContext } from "../security/request";

/**
 * The comparison lab's shapes: what an experiment is given, and what it hands
 * back for the page (plain data, streamed as JSON). The client component
 * imports these as types only.
 */

/** One bar of a chart. `tone` says which side of the comparison it belongs to. */
export interface Bar {
  key: string;
  label: string;
  value: number;
  /** The value as the page shows it ("2.1 ms", "338 bytes"). */
  display: string;
  tone: Tone;
  /** Set when the bar crosses a limit ("dropped by browsers"). */
  flag?: string;
}

export interface Chart {
  title: string;
  unit: string;
  bars: Bar[];
  /** Vertical lines at limits (4096 bytes, the server's header limit). */
  markers?: { value: number; label: string }[];
}

export interface Table {
  caption: string;
  /** Column headings; the first names the row header column. */
  columns: string[];
  /** The first cell is the row header. */
  rows: { key: string; cells: string[] }[];
}

/** The tone of a bar or column: which side of the comparison it belongs to. */
export type Tone = "session" | "token" | "neutral";

/** The two sides of a claim, next to each other. */
export interface Column {
  key: string;
  heading: string;
  /** The summary of a run lists each claim's session and token figures by this. */
  tone: Tone;
  figure: string;
  detail: string;
}

export interface ClaimResult {
  id: string;
  /** The article's claim, in one line. */
  claim: string;
  /** What was measured, in one line. */
  measured: string;
  columns: Column[];
  charts: Chart[];
  tables: Table[];
  /** One line, derived from the figures and the running configuration. */
  verdict: string;
  caveat: string;
}

export type LabEvent =
  | { type: "progress"; experiment: string; message: string }
  | { type: "result"; experiment: string; claims: ClaimResult[] }
  | { type: "error"; experiment: string; message: string };

/** What a running experiment is given. */
export interface LabRun {
  /** This server on loopback (from server.mjs): where measured requests go. */
  origin: URL;
  /** Whether the visitor reached the server over https (cookie names, sizes). */
  https: boolean;
  /** The visitor's client context, recorded on the throwaway sessions. */
  context: ClientContext;
  progress(message: string): void;
}

export interface Experiment<Id extends string = string> {
  readonly id: Id;
  readonly title: string;
  /** The claim(s) it tests, for the page before a run. */
  readonly summary: string;
  run(lab: LabRun): Promise<ClaimResult[]>;
}

/**
 * Which side of the comparison a kind of session is on: an opaque credential
 * the server must look up is the session side, a signed one the token side.
 */
export function toneOf(strategy: { readonly credentialForm: "opaque" | "signed" }): Tone {
  return strategy.credentialForm === "opaque" ? "session" : "token";
}

/** A kind's credential inside a sentence ("the browser JWT"; an acronym stays as it is). */
export function credentialNoun(strategy: { readonly credentialLabel: string }): string {
  const label = strategy.credentialLabel;
  return /^[A-Z][a-z]/.test(label) ? label[0]!.toLowerCase() + label.slice(1) : label;
}
