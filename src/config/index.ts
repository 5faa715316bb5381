/**
 * The one place for tsray's settings: every tunable with its default and its
 * `TSRAY_*` environment override. Read once per process; values are plain numbers
 * and strings so they can be forwarded to child processes through the environment.
 */

interface Setting<T extends number | string | boolean> {
  readonly env: string;
  readonly default: T;
  readonly doc: string;
}

const SETTINGS = {
  inlineThresholdBytes: {
    env: "TSRAY_INLINE_THRESHOLD_BYTES",
    default: 100 * 1024,
    doc: "Values up to this size travel inline to their owner; larger ones go to the node's object store.",
  },
  objectStoreMemory: {
    env: "TSRAY_OBJECT_STORE_MEMORY",
    default: 0,
    doc: "Bytes of each node's shared-memory object store; 0 means 30% of memory, at most 2 GiB.",
  },
  spillDir: {
    env: "TSRAY_SPILL_DIR",
    default: "",
    doc: "Directory the object store spills to when full; empty means <session dir>/spill.",
  },
  leaseIdleMs: {
    env: "TSRAY_LEASE_IDLE_MS",
    default: 25,
    doc: "An owner returns an idle worker lease after this long without work of its shape.",
  },
  maxTasksInFlightPerLease: {
    env: "TSRAY_MAX_TASKS_IN_FLIGHT_PER_LEASE",
    default: 256,
    doc: "Upper bound of tasks pipelined to one leased worker (the real depth adapts to task duration).",
  },
  pipelineBudgetMs: {
    env: "TSRAY_PIPELINE_BUDGET_MS",
    default: 2,
    doc: "Target amount of queued work per leased worker; depth = budget / mean task time.",
  },
  maxPendingLeaseRequests: {
    env: "TSRAY_MAX_PENDING_LEASE_REQUESTS",
    default: 16,
    doc: "Lease requests one owner keeps outstanding per shape.",
  },
  workerStartTimeoutMs: {
    env: "TSRAY_WORKER_START_TIMEOUT_MS",
    default: 30_000,
    doc: "A worker process that has not registered after this long is killed and replaced.",
  },
  headStartTimeoutMs: {
    env: "TSRAY_HEAD_START_TIMEOUT_MS",
    default: 30_000,
    doc: "init() fails if the embedded head does not come up within this long.",
  },
  prestartWorkers: {
    env: "TSRAY_PRESTART_WORKERS",
    default: -1,
    doc: "Workers started ahead of demand per runtime environment; -1 means one per CPU.",
  },
  maxIdleWorkers: {
    env: "TSRAY_MAX_IDLE_WORKERS",
    default: -1,
    doc: "Idle workers kept per node beyond which the oldest idle ones exit; -1 means 2 x CPUs.",
  },
  killGraceMs: {
    env: "TSRAY_KILL_GRACE_MS",
    default: 2_000,
    doc: "At shutdown, processes get SIGTERM and this long to exit before SIGKILL.",
  },
  sessionRoot: {
    env: "TSRAY_SESSION_ROOT",
    default: "",
    doc: "Directory for session sockets, secrets, logs and head records; empty means <os.tmpdir()>/tsray-<uid>. Refused unless it is a real directory owned by this user and not group/world-writable.",
  },
  handshakeTimeoutMs: {
    env: "TSRAY_HANDSHAKE_TIMEOUT_MS",
    default: 5_000,
    doc: "A connection that has not completed the authentication handshake within this long is dropped (both the accepting and the dialing side).",
  },
  maxFrameBytes: {
    env: "TSRAY_MAX_FRAME_BYTES",
    default: 512 * 1024 * 1024,
    doc: "Largest frame (one batch of messages) an authenticated peer may send or receive; checked from the 4-byte header, before buffering. Large values travel through the object store, not in frames.",
  },
  maxPendingHandshakes: {
    env: "TSRAY_MAX_PENDING_HANDSHAKES",
    default: 256,
    doc: "Accepted connections that may be in the handshake at once per process; more are closed at once (bounds what a flood of unauthenticated peers can hold).",
  },
  authToken: {
    env: "TSRAY_AUTH_TOKEN",
    default: "",
    doc: "The cluster's secret (the hex text of <head session dir>/secret) for heads whose secret file this process cannot find by itself, e.g. a TCP head started by another user.",
  },
  defaultMaxRetries: {
    env: "TSRAY_DEFAULT_MAX_RETRIES",
    default: 3,
    doc: "Retries of a task whose worker died, when the task names no maxRetries.",
  },
  heartbeatMs: {
    env: "TSRAY_HEARTBEAT_MS",
    default: 500,
    doc: "How often a node manager probes each of its workers (WorkerPing); 0 disables hang detection.",
  },
  heartbeatTimeoutMs: {
    env: "TSRAY_HEARTBEAT_TIMEOUT_MS",
    default: 10_000,
    doc: "A worker whose event loop has not answered a probe for this long is hung: it is SIGKILLed and treated as dead (0 disables). Synchronous work longer than this must yield.",
  },
  connectTimeoutMs: {
    env: "TSRAY_CONNECT_TIMEOUT_MS",
    default: 10_000,
    doc: "How long dialing another process may take (TCP connect, before the handshake) before it fails with RuntimeUnavailableError.",
  },
  nodeHeartbeatMs: {
    env: "TSRAY_NODE_HEARTBEAT_MS",
    default: 1000,
    doc: "How often a worker node reports its available resources to the head's control store (also the control store's health-check period).",
  },
  objectChunkBytes: {
    env: "TSRAY_OBJECT_CHUNK_BYTES",
    default: 8 * 1024 * 1024,
    doc: "An object pulled from another node's store travels in chunks of this many bytes (one StoreReadChunk each, its bytes received straight into the arena); at most TSRAY_MAX_FRAME_BYTES. Measured on loopback: 4-8 MiB best.",
  },
  objectChunksInFlight: {
    env: "TSRAY_OBJECT_CHUNKS_IN_FLIGHT",
    default: 4,
    doc: "Chunks of one pull requested at once (so the sender works while the receiver writes); at least 1.",
  },
  nodeDeathTimeoutMs: {
    env: "TSRAY_NODE_DEATH_TIMEOUT_MS",
    default: 10_000,
    doc: "A worker node the control store has not heard from for this long is declared dead (it leaves the cluster's resources for good; 0 disables).",
  },
  workerExtraArgv: {
    env: "TSRAY_WORKER_EXTRA_ARGV",
    default: "",
    doc: "Extra node flags for worker processes, space-separated (e.g. --cpu-prof for profiling); read from the node manager's own environment, the only way flags reach workers (a driver's flags never do).",
  },
  logLevel: {
    env: "TSRAY_LOG_LEVEL",
    default: "warn",
    doc: "debug | info | warn | error: what tsray's own processes print to stderr.",
  },
} as const satisfies Record<string, Setting<number | string | boolean>>;

type Settings = typeof SETTINGS;
/** The resolved settings of this process. */
export type Config = {
  readonly [K in keyof Settings]: Settings[K]["default"] extends number ? number : string;
};

function parse(key: string, s: Setting<number | string | boolean>, raw: string | undefined): number | string {
  if (raw === undefined || raw === "") return s.default as number | string;
  if (typeof s.default === "number") {
    const n = Number(raw);
    if (!Number.isFinite(n)) {
      throw new TypeError(`${s.env}=${JSON.stringify(raw)} is not a number (setting ${key}: ${s.doc})`);
    }
    return n;
  }
  return raw;
}

let cached: Config | undefined;

/** The settings of this process: defaults overridden by `TSRAY_*` variables. Throws `TypeError` on a malformed value. */
export function config(): Config {
  if (cached) return cached;
  const out: Record<string, number | string> = {};
  for (const [key, s] of Object.entries(SETTINGS)) out[key] = parse(key, s, process.env[s.env]);
  cached = out as Config;
  return cached;
}

/** Every setting with its env variable, default and documentation (for `tsray --help` and docs). */
export function describeSettings(): Array<{
  key: string;
  env: string;
  default: number | string | boolean;
  doc: string;
}> {
  return Object.entries(SETTINGS).map(([key, s]) => ({ key, env: s.env, default: s.default, doc: s.doc }));
}

/** Forget the cached settings (tests change the environment between cases). */
export function resetConfigForTests(): void {
  cached = undefined;
}
