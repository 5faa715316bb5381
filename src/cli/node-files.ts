/**
 * Worker nodes started on this machine by `tsray start --address`: each lives in a
 * `node-*` session directory under the session root, with `node.pid` and `node.json`
 * (its address, pid, head, log). `tsray stop` and `tsray status` read them.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { sessionRoot } from "../api/index.js";

/** What `tsray start --address` records about a node it started. */
export interface NodeRecord {
  readonly address: string;
  readonly headAddress: string;
  readonly pid: number;
  readonly nodeId: string;
  readonly sessionDir: string;
  readonly logFile: string;
  readonly startedAt: string;
}

/** Write the record into its session directory. */
export function writeNodeRecord(rec: NodeRecord): void {
  writeFileSync(join(rec.sessionDir, "node.json"), `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
}

/** Every recorded node of this session root (unreadable records are skipped), oldest first. */
export function readNodeRecords(): NodeRecord[] {
  const root = sessionRoot();
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => n.startsWith("node-"));
  } catch {
    return [];
  }
  const out: NodeRecord[] = [];
  for (const name of names.sort()) {
    try {
      const rec = JSON.parse(readFileSync(join(root, name, "node.json"), "utf8")) as Partial<NodeRecord>;
      if (typeof rec.address === "string" && typeof rec.pid === "number") out.push(rec as NodeRecord);
    } catch {
      // Starting, or half-removed: not a node to act on.
    }
  }
  return out;
}

/** Remove a node's session directory (only ever a `node-*` directory directly under the session root). */
export function removeNodeFiles(rec: NodeRecord): void {
  if (dirname(rec.sessionDir) === sessionRoot() && basename(rec.sessionDir).startsWith("node-")) {
    rmSync(rec.sessionDir, { recursive: true, force: true });
  }
}

/** False only when the pid surely is not a tsray node (Linux: its command line does not name node/main). */
export function looksLikeNode(pid: number): boolean {
  try {
    return /node[/\\]main\.[jt]s/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
  } catch {
    return process.platform !== "linux";
  }
}
