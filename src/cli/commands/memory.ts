/** `tsray memory`: every live object of the running cluster, who holds it and why (Ray's `ray memory`). */
import type { Command } from "commander";
import { fetchMemory, type MemorySummary, memoryRequest } from "../../api/index.js";
import type { ObjectStoreStats } from "../../protocol/index.js";
import { formatBytes } from "../../util/index.js";
import { CliError } from "../errors.js";
import { connectHead } from "../head-client.js";
import { latestHeadFile, readHeadRecord } from "../head-files.js";

/** One node's object store, in the spirit of Ray's "Plasma memory usage ..." lines. */
export function formatStore(s: ObjectStoreStats): string[] {
  const pct = s.capacity > 0 ? ((100 * s.usedBytes) / s.capacity).toFixed(1) : "0.0";
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? "" : "s"}`;
  return [
    `Object store (node ${s.nodeId}, ${s.backend}):`,
    `  in use ${formatBytes(s.usedBytes, "rounded")} of ${formatBytes(s.capacity, "rounded")} (${pct}% full, ${s.usedBytes} bytes), ` +
      `${n(s.numObjects, "object")} of ${formatBytes(s.objectBytes, "rounded")}, ` +
      `${n(s.pinnedObjects, "object")} pinned (${formatBytes(s.pinnedBytes, "rounded")}), largest free block ${formatBytes(s.largestFreeBlock, "rounded")}`,
    `  spilled now ${formatBytes(s.spilledBytes, "rounded")}, ${n(s.spilledObjects, "object")}; since start: ` +
      `spilled ${formatBytes(s.spilledBytesTotal, "rounded")}, ${n(s.spilledObjectsTotal, "object")}; ` +
      `restored ${formatBytes(s.restoredBytesTotal, "rounded")}, ${n(s.restoredObjectsTotal, "object")}`,
  ];
}

/** Human-readable memory report. */
export function formatMemory(m: MemorySummary): string {
  const lines: string[] = [];
  for (const s of m.objectStores) lines.push(...formatStore(s));
  lines.push("Processes:");
  for (const p of m.processes) {
    lines.push(
      `  pid ${String(p.pid).padEnd(8)} ${p.kind.padEnd(7)} rss ${formatBytes(p.rss, "rounded").padEnd(10)} ` +
        `heap ${formatBytes(p.heapUsed, "rounded").padEnd(10)} ${p.objects} objects, ${formatBytes(p.bytes)} owned  ${p.workerId}`,
    );
  }
  lines.push(`Objects (${m.objects.length}):`);
  for (const o of m.objects) {
    lines.push(`  ${o.id}  ${o.state}  ${formatBytes(o.size)}  owner pid ${o.ownerPid ?? "?"}`);
    for (const h of o.heldBy) lines.push(`      pid ${h.pid}: ${h.reasons.join(", ") || "releasing"}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Register `tsray memory`. */
export function registerMemory(program: Command): void {
  program
    .command("memory")
    .description(
      "list live objects (owner, size, who references them and why they are alive), process memory and object-store usage",
    )
    .option("--address <address>", "head address (default: the latest `tsray start --head`)")
    .option("--json", "print JSON instead of text")
    .option("--collect-garbage", "run a full garbage collection in every process before it reports")
    .action(async (opts: { address?: string; json?: boolean; collectGarbage?: boolean }) => {
      const address = opts.address ?? readHeadRecord()?.address;
      if (!address) throw new CliError(`no running head (${latestHeadFile()} is missing); pass --address`, 1);
      const client = await connectHead(address, 10_000);
      try {
        const request = memoryRequest({ collectGarbage: opts.collectGarbage === true }, "tsray memory");
        const summary = await fetchMemory((body) => client.request(body), request);
        process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatMemory(summary));
      } finally {
        client.close();
      }
    });
}
