import "server-only";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";

/**
 * Results recorded by the command-line runs (data/results/, written by the
 * bench, the outage test and `npm run compare`), read back by experiments that
 * cannot measure the thing live on every server. A file is taken only whole
 * and valid: anything else is reported as such, never half-shown.
 */
export const RESULTS_DIR = path.join("data", "results");

/** A recorded file is a few kilobytes; anything much larger is not one of ours. */
const MAX_RECORDED_BYTES = 2 * 1024 * 1024;

export type Recorded<T> = { state: "ok"; value: T } | { state: "absent" } | { state: "invalid"; problem: string };

/** Validates the text of a recorded file (null: there is none). */
export function parseRecorded<S extends z.ZodType>(text: string | null, schema: S): Recorded<z.infer<S>> {
  if (text === null) return { state: "absent" };
  if (text.length > MAX_RECORDED_BYTES) return { state: "invalid", problem: "too large" };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { state: "invalid", problem: "not JSON" };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { state: "invalid", problem: first ? `${first.path.join(".") || "(top level)"}: ${first.message}` : "invalid" };
  }
  return { state: "ok", value: parsed.data };
}

/** Reads data/results/<name> (relative to the server's working directory, the project root) and validates it. */
export async function readRecorded<S extends z.ZodType>(name: string, schema: S): Promise<Recorded<z.infer<S>>> {
  let text: string | null;
  try {
    text = await readFile(path.join(process.cwd(), RESULTS_DIR, name), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") text = null;
    else return { state: "invalid", problem: "unreadable" };
  }
  return parseRecorded(text, schema);
}

/** "2026-11-23 03:10 UTC". */
export function formatRecordedAt(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
