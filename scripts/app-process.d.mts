// Types of the parts of app-process.mjs that TypeScript callers (e2e specs) use.

export interface RunningServer {
  url: string;
  port: number;
  running: boolean;
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  port?: number;
  host?: string;
  cwd?: string;
  readyPath?: string;
  timeoutMs?: number;
  logFile?: string;
  echo?: boolean;
}

export const ROOT: string;
/** The first of these paths that is an executable file, or null. */
export function firstExecutable(candidates: string[]): string | null;
export function freePort(host?: string): Promise<number>;
export function startServer(options?: StartOptions): Promise<RunningServer>;
