/**
 * Entry point of a worker process, started by a node manager. It registers with
 * the node manager and then runs whatever tasks owners push to it. It exits when
 * the node manager goes away: quietly (code 0) when the node manager stopped it
 * with SIGTERM; with one line on stderr and code 0 when it is orphaned (the node
 * manager's connection closed, or could not be made, without that SIGTERM), after
 * removing the store segments of heads that are gone (a SIGKILLed head cannot).
 */
import { existsSync } from "node:fs";
import { CoreWorker, setCoreWorker } from "../core-worker/index.js";
import { RuntimeUnavailableError } from "../errors/index.js";
import { removeStaleStoreFiles } from "../object-store/index.js";
import { Msg, type RegisterWorkerReply, type RuntimeEnv } from "../protocol/index.js";
import { readSecretFile } from "../transport/index.js";

const env = process.env;
const workerId = env.TSRAY_WORKER_ID;
const nmAddress = env.TSRAY_NM_ADDRESS;
const sessionDir = env.TSRAY_SESSION_DIR;
if (!workerId || !nmAddress || !sessionDir) {
  process.stderr.write("tsray worker: must be started by a node manager (TSRAY_* variables missing)\n");
  process.exit(2);
}

// The node manager that started us is our parent: once the parent pid changes, it is gone.
const parentPid = process.ppid;
/** How long an orphan waits for its dead node manager's process to be reaped before sweeping. */
const PARENT_GONE_WAIT_MS = 2000;
let stopping = false;
// Exit through process.exit so exit hooks (and --cpu-prof) run when the node manager stops us.
// Registered first: a SIGTERM during start-up is a stop too, not an orphaning.
process.on("SIGTERM", () => {
  stopping = true;
  process.exit(0);
});

let orphaned: Promise<never> | undefined;
/**
 * Orphaned: say so in one line (no stack trace: nothing is wrong with this worker),
 * sweep what a killed head left, exit 0. Once, however many paths notice.
 */
function exitOrphaned(why: string): Promise<never> {
  orphaned ??= (async () => {
    if (!stopping) {
      process.stderr.write(`tsray worker ${workerId} (pid ${process.pid}) exiting: ${why}\n`);
      // The socket closes before the kernel reparents us; wait (bounded) until the parent is
      // gone, so the sweep sees its pid dead. A node manager still alive keeps its segment.
      const deadline = Date.now() + PARENT_GONE_WAIT_MS;
      while (process.ppid === parentPid && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      removeStaleStoreFiles();
    }
    process.exit(0);
  })();
  return orphaned;
}

/** A start-up failure that means the node manager (or its session directory) is gone. */
function nodeManagerGone(err: unknown): boolean {
  if (err instanceof RuntimeUnavailableError) return true;
  // listen() in a session directory its head already removed (ENOENT, or EACCES on some kernels).
  return (err as NodeJS.ErrnoException | undefined)?.syscall === "listen" && !existsSync(sessionDir!);
}

/** The head made it in the session directory it started this worker with. */
let secret: Buffer;
try {
  secret = readSecretFile(sessionDir);
} catch (err) {
  // The head writes the secret before it starts any worker: no file means the session is gone.
  // A secret that is there but unsafe or malformed is an error worth its stack.
  if (existsSync(`${sessionDir}/secret`)) throw err;
  secret = await exitOrphaned(`its node manager at ${nmAddress} is gone`);
}

const cw = new CoreWorker({
  workerId,
  mode: "worker",
  // In a TCP cluster owners on other machines dial us: listen on the node's IP (any free port).
  listenAddress: env.TSRAY_NODE_IP ? `tcp://${env.TSRAY_NODE_IP}:0` : `${sessionDir}/${workerId}.sock`,
  nodeManagerAddress: nmAddress,
  // Set on a worker node: the head, which serves the control store its node manager does not.
  controlStoreAddress: env.TSRAY_CONTROL_STORE_ADDRESS || undefined,
  jobId: env.TSRAY_JOB_ID ?? "",
  nodeId: env.TSRAY_NODE_ID ?? "",
  secret,
});
setCoreWorker(cw);
cw.setRuntimeKey(
  env.TSRAY_RUNTIME_KEY ?? "",
  env.TSRAY_RUNTIME ? (JSON.parse(env.TSRAY_RUNTIME) as RuntimeEnv) : undefined,
);
let reply: RegisterWorkerReply;
try {
  await cw.start();
  const nm = cw.nodeManager();
  nm.onClose(() => void exitOrphaned(`its node manager at ${nmAddress} closed the connection`));
  reply = await nm.request({
    t: Msg.RegisterWorker,
    workerId,
    pid: process.pid,
    address: cw.address,
  });
} catch (err) {
  if (!nodeManagerGone(err)) throw err;
  reply = await exitOrphaned(`its node manager at ${nmAddress} is gone`);
}
cw.setStore(reply.store);
