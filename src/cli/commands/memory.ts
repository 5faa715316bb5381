/** `tsray memory`: every live object of the running cluster, who holds it and why (Ray's `ray memory`). */
import type { Command } from "commander";
import { type MemorySummary, summarizeMemory } from "../../api/memory.js";
import { Msg, type ProcessMemoryInfo } from "../../protocol/index.js";
import { formatBytes } from "../../scheduling/index.js";
import { CliError } from "../errors.js";
import { connectHead } from "../head-client.js";
import { latestHeadFile, readHeadRecord } from "../head-files.js";

/** Human-readable memory report. */
export function formatMemory(m: MemorySummary): string {
  const lines = ["Processes:"];
  for (const p of m.processes) {
    lines.push(
      `  pid ${String(p.pid).padEnd(8)} ${p.kind.padEnd(7)} rss ${formatBytes(p.rss).padEnd(10)} ` +
        `${p.objects} objects, ${formatBytes(p.bytes)} owned  ${p.workerId}`,
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
    .description("list live objects: owner, size, who references them and why they are alive")
    .option("--address <address>", "head address (default: the latest `tsray start --head`)")
    .option("--json", "print JSON instead of text")
    .action(async (opts: { address?: string; json?: boolean }) => {
      const address = opts.address ?? readHeadRecord()?.address;
      if (!address) throw new CliError(`no running head (${latestHeadFile()} is missing); pass --address`, 1);
      const client = await connectHead(address, 10_000);
      try {
        const reports = await client.request<ProcessMemoryInfo[]>({ t: Msg.GetMemoryInfo });
        const summary = summarizeMemory(reports);
        process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatMemory(summary));
      } finally {
        client.close();
      }
    });
}
