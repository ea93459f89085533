// Types of scripts/compare.mjs for TypeScript callers (unit tests).

export const TABLE_START: string;
export const TABLE_END: string;
export const REVOCATION_MODES: readonly string[];
export const MODE_EXPERIMENTS: readonly string[];

export interface CompareOptions {
  url: string | null;
  only: string[] | null;
  modes: string[] | null;
  outage: boolean;
  out: string;
  readme: string | null;
  fromJson: boolean;
}

/** A report as compare.json holds it; experiments carry the page's ClaimResult shapes. */
export interface CompareReport {
  version: 1;
  date: string;
  server: { started: boolean; url: string; database?: string; revocationMode?: string };
  experiments: unknown[];
  byMode?: { revocationMode: string; experiments: unknown[] }[];
}

export function parseArgs(argv: string[]): CompareOptions;
export function loopbackUrl(raw: string): string | null;
export function markdownReport(report: CompareReport): string;
export function modesMarkdown(report: CompareReport): string;
export function summaryMarkdown(report: CompareReport): string;
export function replaceReadmeTable(readme: string, report: CompareReport): string;
export function main(argv?: string[]): Promise<number>;
