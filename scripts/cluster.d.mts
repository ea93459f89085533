// Types of scripts/cluster.mjs for TypeScript callers.

export interface ClusterOptions {
  /** Number of app instances (1..16, default 3). */
  instances?: number;
  /** nginx port on 127.0.0.1 (default 3000; 0 = a free one). */
  port?: number;
  /**
   * Extra environment for setup.mjs and every instance (RATE_LIMIT_*, REVOCATION_MODE, …).
   * A postgresql:// DATABASE_URL here (or in process.env) is used instead of a throwaway
   * cluster; KEYS_FILE defaults to keys.json in the cluster's temp directory.
   */
  env?: Record<string, string | undefined>;
  /** Always start a throwaway PostgreSQL cluster, whatever DATABASE_URL says (the test suite). */
  freshDatabase?: boolean;
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
  logFile: string;
  readonly running: boolean;
  output(): string;
  exited: Promise<unknown>;
}

export interface RunningCluster {
  /** nginx: the address clients use. */
  url: string;
  port: number;
  /** Temp directory: keys file (by default), instance logs, nginx/ (config, logs). */
  dir: string;
  databaseUrl: string;
  /** True when the cluster started its own PostgreSQL (stopped by stop()). */
  ownsDatabase: boolean;
  keysFile: string;
  instances: ClusterInstance[];
  nginx: { pid: number; dir: string; readonly running: boolean; output(): string; exited: Promise<unknown> };
  /** Stops nginx, the instances and the PostgreSQL cluster it started; removes the temp directory. */
  stop(): Promise<void>;
}

export function findNginx(): string | null;
export function startCluster(options?: ClusterOptions): Promise<RunningCluster>;
