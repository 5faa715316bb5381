/**
 * Entry point of a head process (control store + node manager). Started by
 * `init()` (embedded, one per driver) or by `tsray start --head`. Reads its
 * configuration from TSRAY_HEAD_CONFIG and reports readiness over IPC (when forked)
 * and as one JSON line on stdout.
 */
import { Head, type HeadConfig } from "./head.js";

const raw = process.env.TSRAY_HEAD_CONFIG;
if (!raw) {
  process.stderr.write("tsray head: TSRAY_HEAD_CONFIG is not set\n");
  process.exit(2);
}
const cfg = JSON.parse(raw) as HeadConfig;
const head = new Head(cfg);
head.onStopped = () => process.exit(0);

const stop = () => void head.stop();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (cfg.embedded) {
  // The driver that started us is gone (exited or crashed): clean up everything.
  process.on("disconnect", stop);
}

try {
  await head.start();
} catch (err) {
  process.stderr.write(`tsray head: failed to start: ${String(err)}\n`);
  process.exit(1);
}
const ready = {
  ready: true,
  address: head.endpoint.listenAddress,
  nodeId: head.nodeManager.nodeId,
  pid: process.pid,
};
if (process.send) process.send(ready);
else process.stdout.write(`${JSON.stringify(ready)}\n`);
