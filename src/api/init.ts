import type { ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { config } from "../config/index.js";
import { CoreWorker, currentCoreWorker, setCoreWorker } from "../core-worker/index.js";
import { RayError, RuntimeUnavailableError } from "../errors/index.js";
import type { HeadConfig } from "../head/index.js";
import {
  defaultObjectStoreMemory,
  MAX_OBJECT_STORE_MEMORY,
  removeStaleStoreFiles,
} from "../object-store/index.js";
import { Msg, type RuntimeEnv } from "../protocol/index.js";
import { type ResourceMap, toDemand } from "../scheduling/index.js";
import { readSecretFile } from "../transport/index.js";
import { entryPoint, log, normalizeAddress, primaryAddress, tcpHost, withDeadline } from "../util/index.js";
import { createSessionDir, detectGpus, secretForAddress, sessionRoot } from "./session.js";
import { checkKeys, optString, show } from "./validate.js";
import { loaderOf } from "./worker-loader.js";

/** Options of init(). */
export interface InitOptions {
  /** Connect to a running cluster ("auto": the latest `tsray start --head` on this machine). Omit to start an embedded one. */
  address?: string;
  /** CPUs of the embedded node (default: this machine's). */
  numCpus?: number;
  /** GPUs of the embedded node (default: detected via CUDA_VISIBLE_DEVICES / nvidia-smi). */
  numGpus?: number;
  /** Custom resources of the embedded node. */
  resources?: Record<string, number>;
  /** Bytes of the node's object store. */
  objectStoreMemory?: number;
  /** Namespace for named actors. */
  namespace?: string;
  /** Print worker output in the driver's terminal (default true). */
  logToDriver?: boolean;
  /** Do not throw when already initialized (returns the current cluster's info). */
  ignoreReinitError?: boolean;
}

/** What init() returns. */
export interface ClusterInfo {
  readonly address: string;
  readonly nodeId: string;
  readonly jobId: string;
  readonly sessionDir: string;
  readonly resources: ResourceMap;
  /** Which object store backend runs on this node. */
  readonly objectStore: string;
  /** pid of the embedded head process (undefined when connected to a cluster). */
  readonly headPid: number | undefined;
}

const INIT_KEYS = [
  "address",
  "numCpus",
  "numGpus",
  "resources",
  "objectStoreMemory",
  "namespace",
  "logToDriver",
  "ignoreReinitError",
];

interface DriverState {
  info: ClusterInfo;
  cw: CoreWorker;
  head: ChildProcess | undefined;
  sessionDir: string | undefined;
  namespace: string;
  onExit: () => void;
  /** Set by stopDriver: an exit of the head after that is expected. */
  stopped: boolean;
}
/** The default instance's session (init/shutdown); sessions of startDriver are their callers'. */
let state: DriverState | undefined;
let starting: Promise<ClusterInfo> | undefined;

/** True between a successful init() and shutdown() (and always inside workers). */
export function isInitialized(): boolean {
  return currentCoreWorker() !== undefined;
}

/** The namespace of this driver (for named actors). */
export function currentNamespace(): string {
  return state?.namespace ?? process.env.TSRAY_NAMESPACE ?? "default";
}

/**
 * Start tsray. With no address, starts an embedded one-node cluster (a head
 * process with the control store and node manager, plus worker processes) that
 * lives until shutdown() or until this process exits. Throws TypeError on bad
 * options, RayError when already initialized.
 */
export async function init(opts: InitOptions = {}): Promise<ClusterInfo> {
  checkKeys(opts, INIT_KEYS, "init()");
  const cw = currentCoreWorker();
  if (cw && cw.opts.mode === "worker") {
    throw new RayError(
      "init() was called inside a tsray worker; the worker is already connected to its cluster",
    );
  }
  if (state || starting) {
    if (opts.ignoreReinitError) return state?.info ?? (await starting!);
    throw new RayError(
      "tsray is already initialized; call `await ray.shutdown()` first, or pass { ignoreReinitError: true }",
    );
  }
  starting = start(opts).then((s) => {
    state = s;
    setCoreWorker(s.cw);
    return s.info;
  });
  try {
    return await starting;
  } finally {
    starting = undefined;
  }
}

/** A driver session that is not the process's default instance (see {@link startDriver}). */
export interface DriverSession {
  /** What init() would have returned. */
  readonly info: ClusterInfo;
  /** The session's core worker: refs and handles it creates or decodes stay bound to it. */
  readonly coreWorker: CoreWorker;
  /** Stop the session as shutdown() stops the default one (an embedded head with all its workers). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Internal (tests, in-process clusters): start a driver as init() does — an embedded
 * cluster, or a connection to `address` — without making it the process's default
 * instance. The top-level API keeps using the default; refs and handles of this
 * session reach its own core worker. Same options and errors as init().
 */
export async function startDriver(opts: InitOptions = {}): Promise<DriverSession> {
  checkKeys(opts, INIT_KEYS, "startDriver()");
  const s = await start(opts);
  return { info: s.info, coreWorker: s.cw, stop: () => stopDriver(s) };
}

async function start(opts: InitOptions): Promise<DriverState> {
  const raw = opts as Record<string, unknown>;
  const address = optString(raw, "address", "init()");
  const namespace = optString(raw, "namespace", "init()") ?? "default";
  if (opts.logToDriver !== undefined && typeof opts.logToDriver !== "boolean") {
    throw new TypeError(`init(): logToDriver must be a boolean, got ${show(opts.logToDriver)}`);
  }
  if (
    opts.objectStoreMemory !== undefined &&
    (typeof opts.objectStoreMemory !== "number" ||
      !Number.isInteger(opts.objectStoreMemory) ||
      opts.objectStoreMemory < 1024 * 1024 ||
      opts.objectStoreMemory > MAX_OBJECT_STORE_MEMORY)
  ) {
    throw new TypeError(
      `init(): objectStoreMemory must be a whole number of bytes from 1 MiB to ${MAX_OBJECT_STORE_MEMORY} ` +
        `(what one mapping can hold on Node ${process.versions.node}), got ${show(opts.objectStoreMemory)}`,
    );
  }
  const { loader, ignored } = loaderOf(
    process.execArgv,
    (process.features as { typescript?: unknown }).typescript,
  );
  if (ignored.length > 0) {
    log.warn(
      `workers do not get these node flags of this driver: ${ignored.join(" ")}. A node starts workers only ` +
        `from its own configuration: the loader "${loader}" (chosen from this driver's flags) and ` +
        "TSRAY_WORKER_EXTRA_ARGV in the node's environment",
    );
  }
  const runtime: RuntimeEnv = {
    loader,
    cwd: process.cwd(),
    // An embedded head's control store hands out job "0001" first: the workers it
    // prestarts for this runtime are the ones this driver registers below.
    jobId: "0001",
    namespace,
  };
  let head: ChildProcess | undefined;
  let sessionDir: string | undefined;
  let headAddress: string;
  let secret: Uint8Array;
  if (address) {
    if (opts.numCpus !== undefined || opts.numGpus !== undefined || opts.resources !== undefined) {
      throw new TypeError(
        "init(): numCpus, numGpus and resources describe an embedded node; they cannot be given with address",
      );
    }
    headAddress = address === "auto" ? readLatestHead() : normalizeAddress(address, "init(): address");
    secret = secretForAddress(headAddress);
  } else {
    const gpus = opts.numGpus === undefined ? await detectGpus() : undefined;
    const resources = toDemand(
      {
        numCpus: opts.numCpus ?? availableParallelism(),
        numGpus: opts.numGpus ?? gpus!.length,
        resources: opts.resources,
      },
      0,
      "init()",
    );
    sessionDir = createSessionDir();
    headAddress = join(sessionDir, "head.sock");
    const cfg: HeadConfig = {
      sessionDir,
      address: headAddress,
      resources,
      gpuIds: gpus && gpus.length > 0 ? gpus : undefined,
      logToDriver: opts.logToDriver ?? true,
      embedded: true,
      runtime,
      objectStoreMemory: opts.objectStoreMemory ?? defaultObjectStoreMemory(),
    };
    try {
      head = await startHead(cfg);
      // Made by the head before it reported ready.
      secret = readSecretFile(sessionDir);
    } catch (err) {
      head?.kill("SIGKILL");
      rmSync(sessionDir, { recursive: true, force: true });
      throw err;
    }
  }
  // Driver-only built-ins are imported here, not at the top: workers load this module too.
  const { randomBytes } = await import("node:crypto");
  const driverId = `d${process.pid}-${randomBytes(3).toString("hex")}`;
  const listenDir = sessionDir ?? createSessionDir();
  sessionDir ??= listenDir;
  // In a TCP cluster, workers on other machines dial this driver (it owns objects, creates actors).
  const tcp = tcpHost(headAddress);
  const ip = tcp === undefined ? undefined : /^(127\.|localhost$|\[?::1)/.test(tcp) ? tcp : primaryAddress();
  const cw = new CoreWorker({
    workerId: driverId,
    mode: "driver",
    listenAddress: ip === undefined ? join(listenDir, `${driverId}.sock`) : `tcp://${ip}:0`,
    nodeManagerAddress: headAddress,
    jobId: "",
    nodeId: "",
    secret,
  });
  try {
    await cw.start();
    // A worker node's processes reach the control store at the head, not through their node.
    const first = await cw.call({ t: Msg.GetNodeResources });
    await cw.connectControlStore(first.controlStore);
    const { jobId } = await cw.call({ t: Msg.RegisterJob });
    runtime.jobId = jobId;
    const { runtimeKey, store } = await cw.call({
      t: Msg.RegisterDriver,
      jobId,
      runtime,
      embedded: !!head,
    });
    const view = await cw.call({ t: Msg.GetNodeResources });
    cw.setRuntimeKey(runtimeKey, runtime);
    cw.setStore(store);
    cw.setIdentity(jobId, view.nodeId);
    // An embedded cluster is this one node: demands that can never fit fail at the call site.
    if (head) cw.clusterTotals = [view.total];
    const info: ClusterInfo = {
      address: headAddress,
      nodeId: view.nodeId,
      jobId,
      sessionDir,
      resources: view.total,
      objectStore: `shared-memory ${store.backend === "native" ? "(native addon, zero-copy)" : "(js fallback, copies)"}, ${store.size} bytes`,
      headPid: head?.pid,
    };
    const onExit = () => {
      // Synchronous last resort when the script ends without shutdown(): the head cleans up its workers.
      if (head?.pid && head.exitCode === null && head.signalCode === null)
        try {
          process.kill(head.pid, "SIGTERM");
        } catch {
          /* gone */
        }
    };
    process.on("exit", onExit);
    const session: DriverState = { info, cw, head, sessionDir, namespace, onExit, stopped: false };
    head?.once("exit", (code, signal) => {
      if (!session.stopped) onHeadDied(head!, sessionDir!, code, signal);
    });
    return session;
  } catch (err) {
    cw.close();
    if (head) head.kill("SIGKILL");
    if (sessionDir) rmSync(sessionDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The embedded head died on its own (SIGKILL, a crash): it cleaned up nothing, and
 * this driver is the one process that saw it go. Its workers exit by themselves;
 * remove its store segment (and spill files) and the session directory here.
 * Calls fail from now on (the node manager is unreachable) until shutdown().
 */
function onHeadDied(
  head: ChildProcess,
  sessionDir: string,
  code: number | null,
  signal: string | null,
): void {
  removeStaleStoreFiles();
  rmSync(sessionDir, { recursive: true, force: true });
  log.warn(
    `the tsray head (pid ${head.pid}) exited unexpectedly (code ${code}, signal ${signal}); its cluster is gone: ` +
      "call shutdown() and init() again",
  );
}

async function startHead(cfg: HeadConfig): Promise<ChildProcess> {
  const { fork } = await import("node:child_process");
  const entry = entryPoint("head/main");
  const child = fork(entry.file, [], {
    execArgv: entry.execArgv,
    env: { ...process.env, TSRAY_HEAD_CONFIG: JSON.stringify(cfg) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new RuntimeUnavailableError(`the tsray head did not start within ${config().headStartTimeoutMs} ms`),
      );
    }, config().headStartTimeoutMs);
    child.once("message", () => {
      clearTimeout(timer);
      child.off("exit", onExit);
      child.unref();
      (child.channel as { unref?: () => void } | undefined)?.unref?.();
      resolve(child);
    });
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(
        new RuntimeUnavailableError(`the tsray head exited during start (code ${code}, signal ${signal})`),
      );
    };
    child.once("exit", onExit);
  });
}

function readLatestHead(): string {
  const file = join(sessionRoot(), "latest-head");
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    throw new RuntimeUnavailableError(
      `init({ address: "auto" }): no running head found (${file} is missing); start one with \`tsray start --head\``,
    );
  }
}

/**
 * Stop this driver's use of tsray: an embedded cluster is stopped (every worker
 * killed, sockets and session files removed) before this resolves; a connected
 * cluster keeps running. Safe to call twice.
 */
export async function shutdown(): Promise<void> {
  if (starting) await starting.catch(() => undefined);
  const s = state;
  const cw = currentCoreWorker();
  if (!s || !cw || cw.opts.mode !== "driver") return;
  state = undefined;
  await stopDriver(s);
  setCoreWorker(undefined);
}

/** Stop one driver session: its embedded head (and so its workers), its core worker, its files. */
async function stopDriver(s: DriverState): Promise<void> {
  if (s.stopped) return;
  s.stopped = true;
  const cw = s.cw;
  process.off("exit", s.onExit);
  if (s.head) {
    const exited = new Promise<void>((resolve) => {
      if (s.head!.exitCode !== null || s.head!.signalCode !== null) resolve();
      else s.head!.once("exit", () => resolve());
    });
    try {
      await withDeadline(cw.call({ t: Msg.ShutdownNode }), config().killGraceMs + 3000, "shutdown request");
    } catch {
      // Head unreachable or slow: kill it; its workers see the socket close and exit.
    }
    if (
      !(await withDeadline(exited, config().killGraceMs + 3000, "head exit").then(
        () => true,
        () => false,
      ))
    ) {
      s.head.kill("SIGKILL");
      // The head's handle is unref'd: a ref'd timer keeps this process alive until the exit event.
      await withDeadline(exited, 5000, "head exit after SIGKILL").catch(() => undefined);
    }
  }
  cw.close();
  if (s.sessionDir) rmSync(s.sessionDir, { recursive: true, force: true });
}

/** pid of the embedded head process (tests check cleanup by pid). */
export function headPid(): number | undefined {
  return state?.head?.pid;
}
