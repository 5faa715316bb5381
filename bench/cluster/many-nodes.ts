/**
 * Child process of the `16 node managers on one machine` scenario: a Cluster of a head
 * and 15 worker nodes (real processes on loopback, each with its own session directory
 * and a small store, 1 CPU each). Measures (a) trivial tasks spread evenly over the 16
 * nodes by a custom resource each node alone has (`n0` ... `n15`), submitted by a
 * driver on the head in batches of 1,000; (b) the head process's CPU over 5 s while the cluster
 * is idle (nothing runs but heartbeats: every node reports to the head each
 * `TSRAY_NODE_HEARTBEAT_MS`), as % of one core from /proc/<pid>/stat; (c) the head's
 * RSS. Prints them as one JSON line.
 */
import { readFileSync } from "node:fs";
import { get, init, type ObjectRef, remote, shutdown } from "tsray";
import { Cluster } from "tsray/testing";
import { benchSeconds, timeit } from "../harness.js";

const NODES = 16;
const BATCH = 1000;
/** Each node's store: small, so 16 of them fit any machine. */
const STORE_BYTES = 64 * 1024 * 1024;
/** Linux reports utime and stime in USER_HZ ticks, 100 per second on every architecture. */
const TICKS_PER_S = 100;

const trivial = remote(() => 1);

/** utime + stime of `pid`, in seconds. */
function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces), from its closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** CPU of each pid over `seconds`, as % of one core. */
async function cpuPercent(pids: readonly number[], seconds: number): Promise<number[]> {
  const before = pids.map(cpuSeconds);
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const wall = (performance.now() - t0) / 1000;
  return pids.map((pid, i) => ((cpuSeconds(pid) - before[i]!) / wall) * 100);
}

const t0 = performance.now();
const cluster = await Cluster.start({
  head: { numCpus: 1, resources: { n0: 1000 }, objectStoreMemory: STORE_BYTES },
});
try {
  for (let i = 1; i < NODES; i++) {
    await cluster.addNode({ numCpus: 1, resources: { [`n${i}`]: 1000 }, objectStoreMemory: STORE_BYTES });
  }
  await cluster.waitForNodes(NODES, 60_000);
  const startS = (performance.now() - t0) / 1000;
  const head = cluster.nodes.find((n) => n.isHead)!;
  const others = cluster.nodes.filter((n) => !n.isHead).map((n) => n.pid);

  await init({ address: cluster.address });
  const onNode = Array.from({ length: NODES }, (_, i) => trivial.options({ resources: { [`n${i}`]: 1 } }));
  const batch = (): Promise<number[]> => {
    const refs: ObjectRef<number>[] = new Array(BATCH);
    for (let i = 0; i < BATCH; i++) refs[i] = onNode[i % NODES]!.remote();
    return get(refs);
  };
  await batch(); // a lease on every node
  const perS = await timeit(batch, BATCH);
  await shutdown(); // the driver leaves: its leases go back, nothing runs any more

  // Let the departure settle (leases returned, idle workers), then measure the quiet cluster.
  await cpuPercent([head.pid], 1);
  const seconds = Math.max(5, benchSeconds());
  const [headCpu, ...nodeCpu] = await cpuPercent([head.pid, ...others], seconds);
  const result = {
    perS,
    headIdleCpuPct: headCpu!,
    headRssMB: rssMB(head.pid),
    nodeIdleCpuPctMean: nodeCpu.reduce((a, b) => a + b, 0) / nodeCpu.length,
    nodeRssMBMean: others.map(rssMB).reduce((a, b) => a + b, 0) / others.length,
    startS,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await shutdown();
  await cluster.shutdown();
}
