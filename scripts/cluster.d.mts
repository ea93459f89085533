// Types of scripts/cluster.mjs for TypeScript callers.

export interface ClusterOptions {
  /** Number of app instances (1..16, default 3). */
  instances?: number;
  /** nginx port on 127.0.0.1 (default 3000; 0 = a free one). */
  port?: number;
  /**
   * Extra environment for setup.mjs and every instance (RATE_LIMIT_*, REVOCATION_MODE, …).
   * A postgresql:// DATABASE_URL here (or in process.env) is used instead of a throwaway
   * cluster. KEYS_ENCRYPTION_KEY here (or in process.env) seals the signing keys in the
   * database; default: a throwaway one. KEYS_FILE (default: keys.json in the cluster's temp
   * directory, absent) is imported into an empty key store when it exists.
   */
  env?: Record<string, string | undefined>;
  /** Always start a throwaway PostgreSQL cluster, whatever DATABASE_URL says (the test suite). */
  freshDatabase?: boolean;
  /**
   * A Redis shared by every instance (REDIS_URL; rate-limit counters live there): REDIS_URL from
   * env or process.env when set, otherwise a throwaway redis-server (stopped by stop()). Without
   * it, a REDIS_URL in env or process.env still reaches the instances like any other variable.
   */
  redis?: boolean;
  /** With `redis`: always start a throwaway redis-server, whatever REDIS_URL says (the test suite). */
  freshRedis?: boolean;
  /** Where the temp directory goes (default os.tmpdir()). */
  parentDir?: string;
  /** Keep the temp directory (logs, nginx config) after stop(). */
  keepDir?: boolean;
  /** Progress lines (addresses, logs); default: silent. */
  log?: (line: string) => void;
}

export interface ClusterInstance {
  /** INSTANCE_ID, also the X-Instance response header: "app-1" … */
  id: string;
  /** The instance's own address, bypassing nginx. */
  url: string;
  port: number;
  /** The instance's current process (server.mjs); a new one after restart(). */
  readonly pid: number;
  /** Appended to by every process of the instance. */
  logFile: string;
  /** Whether the current process runs (false while a restart has it down). */
  readonly running: boolean;
  /** True from restart() until it settles. */
  readonly restarting: boolean;
  /** The current process's last output lines. */
  output(): string;
  /** Settles when the instance stops for good (its process died, or stop()); never for a deliberate restart(). */
  exited: Promise<unknown>;
}

export interface RestartOptions {
  /** Runs once the old process has exited, before its successor is started (the instance is down meanwhile). */
  whileDown?: () => Promise<void> | void;
}

/** What restart() measured (milliseconds, rounded). */
export interface RestartTimings {
  id: string;
  previousPid: number;
  pid: number;
  /** How the old process ended: server.mjs exits 143 after a graceful SIGTERM stop; signal SIGKILL if it had to be killed. */
  previousExit: { code: number | null; signal: string | null };
  /** SIGTERM → the old process exited (it stops accepting at once, finishes running requests). */
  stopMs: number;
  /** The old process exited → its successor spawned (whileDown, if any). */
  downMs: number;
  /** Spawned → answers /api/health. */
  startMs: number;
  /** SIGTERM → answers /api/health. */
  totalMs: number;
}

export interface RunningCluster {
  /** nginx: the address clients use. */
  url: string;
  port: number;
  /** Temp directory: instance logs, nginx/ (config, logs). */
  dir: string;
  databaseUrl: string;
  /** True when the cluster started its own PostgreSQL (stopped by stop()). */
  ownsDatabase: boolean;
  /** The REDIS_URL every instance has, or null: rate-limit counters are then in the database. */
  redisUrl: string | null;
  /** True when the cluster started its own redis-server (stopped by stop()). */
  ownsRedis: boolean;
  /** That redis-server, when the cluster started one. */
  redis: { pid: number; dir: string; readonly running: boolean; output(): string; exited: Promise<unknown> } | null;
  /** Imported into an empty key store if it exists; the instances read their keys from the database. */
  keysFile: string;
  /** Seals the signing keys in the database (base64url, 32 bytes): what `scripts/keys.ts rotate` needs against this cluster. */
  keysEncryptionKey: string;
  instances: ClusterInstance[];
  nginx: { pid: number; dir: string; readonly running: boolean; output(): string; exited: Promise<unknown> };
  /**
   * Stops one instance gracefully (SIGTERM; SIGKILL after 5 s) and starts it again with the same
   * environment on the same port (nginx's upstream list is fixed); resolves once it answers
   * /api/health. Rejects for an unknown id (error.code "UNKNOWN_INSTANCE") or one already
   * restarting (error.code "RESTARTING").
   */
  restart(id: string, options?: RestartOptions): Promise<RestartTimings>;
  /** Stops nginx, the instances and the PostgreSQL cluster it started; removes the temp directory. */
  stop(): Promise<void>;
}

export function findNginx(): string | null;
export function startCluster(options?: ClusterOptions): Promise<RunningCluster>;
