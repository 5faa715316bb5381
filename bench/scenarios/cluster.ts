/**
 * Multi-node scenarios (issue 10). Each runs in a child process of its own, since the
 * benchmark's driver is already connected to its embedded cluster.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { emit, register, roundValue, type Scenario } from "../harness.js";

/** Run `bench/cluster/<script>.js <args>` to completion and parse the JSON line it prints last. */
function child(script: string, args: string[] = [], timeoutMs = 120_000): Promise<Record<string, number>> {
  const file = fileURLToPath(new URL(`../cluster/${script}.js`, import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script}: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, number>);
    });
  });
}

register({
  name: "tasks across 2 nodes async",
  unit: "per_s",
  run: async () => (await child("across-nodes")).perS!,
});

register({
  name: "n:n actor calls across nodes async",
  unit: "per_s",
  run: async () => (await child("actors-across-nodes")).perS!,
});

const manyNodes: Scenario & { readonly limitSeconds: number } = {
  name: "16 node managers on one machine",
  unit: "per_s",
  // Starting 16 nodes (and a worker on each) takes a while on a small machine.
  limitSeconds: 300,
  run: async () => {
    const r = await child("many-nodes", [], 280_000);
    const round = (v: number | undefined) => roundValue(v ?? Number.NaN);
    emit({
      name: "16 node managers on one machine: head idle cpu",
      value: round(r.headIdleCpuPct),
      unit: "percent_of_core",
      nodeManagerMean: round(r.nodeIdleCpuPctMean),
    });
    emit({
      name: "16 node managers on one machine: head rss",
      value: round(r.headRssMB),
      unit: "MB",
      nodeManagerMean: round(r.nodeRssMBMean),
      clusterStartS: round(r.startS),
    });
    return r.perS!;
  },
};
register(manyNodes);

register({
  name: "tcp loopback throughput one way",
  unit: "GB_per_s",
  run: async () => (await child("tcp-limit")).perS!,
});

register({
  name: "1 GiB between two nodes",
  unit: "GB_per_s",
  run: async () => (await child("transfer", ["pair"])).perS!,
});

register({
  name: "broadcast 1 GiB to 4 nodes",
  unit: "s",
  run: async () => (await child("transfer", ["broadcast"])).perS!,
});
