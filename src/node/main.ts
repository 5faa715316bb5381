/**
 * Entry point of a worker node process (a node that is not the head), started by
 * `tsray start --address`. Reads its configuration from TSRAY_NODE_CONFIG (the secret
 * is already in its session directory), joins the head, and reports readiness over IPC
 * (when forked) and as one JSON line on stdout. Exits 0 when stopped (SIGTERM/SIGINT)
 * and, with one line on stderr, when the head goes away.
 */
import { rmSync } from "node:fs";
import { WorkerNode, type WorkerNodeConfig } from "./worker-node.js";

const raw = process.env.TSRAY_NODE_CONFIG;
if (!raw) {
  process.stderr.write("tsray node: TSRAY_NODE_CONFIG is not set\n");
  process.exit(2);
}
const cfg = JSON.parse(raw) as WorkerNodeConfig;
const node = new WorkerNode(cfg);
/** This node owns its session directory (sockets, spill files, the secret copy): remove it on the way out. */
function removeSessionDir(): void {
  rmSync(cfg.sessionDir, { recursive: true, force: true });
}
node.onHeadLost = (err) => {
  process.stderr.write(`tsray node: the head at ${cfg.headAddress} is gone (${err.message}); exiting\n`);
  removeSessionDir();
  process.exit(0);
};
const stop = () =>
  void node.stop().then(() => {
    removeSessionDir();
    process.exit(0);
  });
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

try {
  await node.start();
} catch (err) {
  process.stderr.write(`tsray node: cannot join the head at ${cfg.headAddress}: ${String(err)}\n`);
  await node.stop();
  process.exit(1);
}
const ready = { ready: true, address: node.address, nodeId: node.nodeManager.nodeId, pid: process.pid };
if (process.send) process.send(ready);
else process.stdout.write(`${JSON.stringify(ready)}\n`);
