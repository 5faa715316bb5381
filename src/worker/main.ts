/**
 * Entry point of a worker process, started by a node manager. It registers with
 * the node manager and then runs whatever tasks owners push to it. It exits when
 * the node manager goes away.
 */
import { CoreWorker, setCoreWorker } from "../core-worker/index.js";
import { Msg, type RegisterWorkerReply } from "../protocol/index.js";
import { readSecretFile } from "../transport/index.js";

const env = process.env;
const workerId = env.TSRAY_WORKER_ID;
const nmAddress = env.TSRAY_NM_ADDRESS;
const sessionDir = env.TSRAY_SESSION_DIR;
if (!workerId || !nmAddress || !sessionDir) {
  process.stderr.write("tsray worker: must be started by a node manager (TSRAY_* variables missing)\n");
  process.exit(2);
}

const cw = new CoreWorker({
  workerId,
  mode: "worker",
  listenAddress: `${sessionDir}/${workerId}.sock`,
  nodeManagerAddress: nmAddress,
  jobId: env.TSRAY_JOB_ID ?? "",
  nodeId: env.TSRAY_NODE_ID ?? "",
  // The head made it in the session directory it started this worker with.
  secret: readSecretFile(sessionDir),
});
setCoreWorker(cw);
cw.setRuntimeKey(env.TSRAY_RUNTIME_KEY ?? "");
await cw.start();
const nm = cw.nodeManager();
nm.onClose(() => process.exit(0));
const reply = await nm.request<RegisterWorkerReply>({
  t: Msg.RegisterWorker,
  workerId,
  pid: process.pid,
  address: cw.address,
});
cw.setStore(reply.store);
// Exit through process.exit so exit hooks (and --cpu-prof) run when the node manager stops us.
process.on("SIGTERM", () => process.exit(0));
