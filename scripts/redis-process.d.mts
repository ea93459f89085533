// Types of scripts/redis-process.mjs for TypeScript callers (unit tests, e2e specs).

export interface RedisOptions {
  /** redis-server binary (default findRedisServer()). */
  bin?: string;
  /** Where the temp directory goes (default os.tmpdir()). */
  parentDir?: string;
  /** How long to wait for PONG (default 15 s). */
  timeoutMs?: number;
}

export interface RunningRedis {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Temp directory: redis.conf, redis.log (removed by stop()). */
  dir: string;
  log: string;
  readonly pid: number;
  readonly running: boolean;
  /** Resolves when the current server process exits. */
  readonly exited: Promise<{ code: number | null; signal: string | null; stderr: string } | null>;
  output(): string;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
  stopSync(): void;
  /** Kills the server (its data with it); port and directory stay for resume(). */
  pause(): Promise<void>;
  /** Starts it again on the same port, empty. */
  resume(): Promise<void>;
}

export function findRedisServer(): string | null;
export function ping(port: number, host?: string): Promise<boolean>;
export function startRedis(options?: RedisOptions): Promise<RunningRedis>;
