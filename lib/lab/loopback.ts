import "server-only";
import http from "node:http";
import { isLoopbackOrigin } from "../platform/loopback";

/**
 * Requests from the lab to this very server, over loopback. The origin comes
 * only from the header server.mjs sets from the socket (a client-sent one is
 * discarded there), and is checked once more to be a loopback address, so a
 * run can never be pointed at another host.
 */
export const LOOPBACK_ORIGIN_HEADER = "x-sot-loopback-origin";

export function loopbackOrigin(headers: { get(name: string): string | null }): URL | null {
  const raw = headers.get(LOOPBACK_ORIGIN_HEADER);
  return raw && isLoopbackOrigin(raw) ? new URL(raw) : null;
}

export interface Answer {
  /** HTTP status; null when the connection failed before one arrived. */
  status: number | null;
  body: string;
  /** The answer's headers (empty when there was no answer). */
  headers: http.IncomingHttpHeaders;
}

/** Largest answer body read (the JWKS, /api/me): anything larger is cut, never buffered without end. */
const MAX_BODY_BYTES = 64 * 1024;

export function send(
  origin: URL,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent | false } = {},
): Promise<Answer> {
  return new Promise((resolve) => {
    const request = http.request(
      {
        host: origin.hostname.replace(/^\[|\]$/g, ""),
        port: Number(origin.port),
        path,
        method: options.method ?? "GET",
        headers: options.body === undefined ? options.headers : { "content-type": "application/json", ...options.headers },
        agent: options.agent,
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY_BYTES) chunks.push(chunk);
        });
        response.on("end", () => resolve({ status: response.statusCode ?? null, body: Buffer.concat(chunks).toString("utf8"), headers: response.headers }));
        response.on("error", () => resolve({ status: response.statusCode ?? null, body: "", headers: response.headers }));
      },
    );
    // A refused or reset connection is an outcome to report (the oversize header), not an exception.
    request.on("error", () => resolve({ status: null, body: "", headers: {} }));
    request.on("timeout", () => request.destroy());
    request.end(options.body);
  });
}

/** The median of a list of numbers (0 for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
