/** `tsray status`: nodes, resources and workers of the running head (Ray's `ray status`). */
import type { Command } from "commander";
import { Msg, type NodeInfo, type NodeResourcesView } from "../../protocol/index.js";
import { formatAmount, type ResourceMap } from "../../scheduling/index.js";
import { formatBytes } from "../../util/index.js";
import { CliError } from "../errors.js";
import { connectHead } from "../head-client.js";
import { type HeadRecord, latestHeadFile, readHeadRecord } from "../head-files.js";

interface StatusOptions {
  address?: string;
  json?: boolean;
}

/** Everything `tsray status` shows. */
export interface ClusterStatus {
  address: string;
  pid: number | undefined;
  nodes: NodeInfo[];
  total: ResourceMap;
  available: ResourceMap;
  headNode: NodeResourcesView;
}

const amount = (name: string, v: number) => (name === "memory" ? formatBytes(v) : formatAmount(v));
const describeMap = (m: ResourceMap) =>
  Object.entries(m)
    .map(([k, v]) => `${amount(k, v)} ${k}`)
    .join(", ") || "nothing";

/** Human-readable status. */
export function formatStatus(s: ClusterStatus): string {
  const lines = [`tsray head at ${s.address}${s.pid ? ` (pid ${s.pid})` : ""}`, `Nodes (${s.nodes.length}):`];
  for (const n of s.nodes) {
    const role = n.isHead ? "head" : "worker";
    lines.push(
      `  ${n.nodeId}  ${role}  ${n.alive ? "alive" : "dead"}  ${n.hostname}  ${describeMap(n.total)}`,
    );
  }
  lines.push("Resources (used / total):");
  for (const [name, total] of Object.entries(s.total)) {
    const used = total - (s.available[name] ?? 0);
    lines.push(`  ${name.padEnd(10)} ${amount(name, used)} / ${amount(name, total)}`);
  }
  const workers = s.headNode.workers;
  lines.push(`Workers on node ${s.headNode.nodeId} (${workers.length}):`);
  for (const w of workers) lines.push(`  pid ${String(w.pid).padEnd(8)} ${w.state.padEnd(9)} ${w.workerId}`);
  return `${lines.join("\n")}\n`;
}

/** Ask the head at `address` for its status. */
export async function fetchStatus(address: string, pid?: number): Promise<ClusterStatus> {
  const client = await connectHead(address);
  try {
    const [nodes, resources, headNode] = await Promise.all([
      client.request({ t: Msg.GetNodes }),
      client.request({ t: Msg.GetClusterResources }),
      client.request({ t: Msg.GetNodeResources }),
    ]);
    return { address, pid, nodes, total: resources.total, available: resources.available, headNode };
  } finally {
    client.close();
  }
}

async function status(opts: StatusOptions): Promise<void> {
  let rec: HeadRecord | undefined;
  let address = opts.address;
  if (address === undefined) {
    rec = readHeadRecord();
    if (!rec) {
      throw new CliError(
        `no running tsray head found (${latestHeadFile()} is missing); start one with \`tsray start --head\``,
      );
    }
    address = rec.address;
  }
  let s: ClusterStatus;
  try {
    s = await fetchStatus(address, rec?.pid);
  } catch (err) {
    throw new CliError(`cannot reach the tsray head at ${address}: ${(err as Error).message}`);
  }
  process.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
}

/** Register `tsray status`. */
export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("show the nodes, resources and workers of the running tsray head")
    .option("--address <address>", "the head's address (default: the latest `tsray start --head`)")
    .option("--json", "print JSON instead of text")
    .action((opts: StatusOptions) => status(opts));
}
