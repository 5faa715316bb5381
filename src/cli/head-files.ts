/**
 * Files that describe the head started by `tsray start --head`, in the session root:
 * `latest-head` (its address, read by `init({ address: "auto" })`) and
 * `latest-head.json` (address, pid, session directory, log file; read by `tsray stop`
 * and `tsray status`). Plus process helpers shared by the commands.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { sessionRoot } from "../api/index.js";
import { isAlive } from "../util/index.js";

/** What `tsray start --head` records about the head it started. */
export interface HeadRecord {
  readonly address: string;
  readonly pid: number;
  readonly nodeId: string;
  readonly sessionDir: string;
  readonly logFile: string;
  readonly startedAt: string;
}

/** Path of the file holding the latest head's address. */
export function latestHeadFile(): string {
  return join(sessionRoot(), "latest-head");
}

/** Path of the JSON record next to `latest-head`. */
export function headRecordFile(): string {
  return `${latestHeadFile()}.json`;
}

/** Write `latest-head` and its record (the address file last, so readers never see it alone). */
export function writeHeadRecord(rec: HeadRecord): void {
  // In its session directory too: how drivers find a head's secret by its address.
  writeFileSync(join(rec.sessionDir, "head.json"), `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
  writeFileSync(headRecordFile(), `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
  writeFileSync(latestHeadFile(), `${rec.address}\n`, { mode: 0o600 });
}

/** The recorded head, or undefined when there is none (or the record is unreadable). */
export function readHeadRecord(): HeadRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(headRecordFile(), "utf8")) as Partial<HeadRecord>;
    if (typeof rec.address !== "string" || typeof rec.pid !== "number") return undefined;
    return rec as HeadRecord;
  } catch {
    return undefined;
  }
}

/** Remove the head's files: `latest-head` only while it still names this head, and its session dir. */
export function removeHeadFiles(rec: HeadRecord): void {
  try {
    if (readFileSync(latestHeadFile(), "utf8").trim() === rec.address)
      rmSync(latestHeadFile(), { force: true });
  } catch {
    // Already gone.
  }
  if (readHeadRecord()?.pid === rec.pid) rmSync(headRecordFile(), { force: true });
  // Only ever a head session directory directly under the session root.
  if (dirname(rec.sessionDir) === sessionRoot() && basename(rec.sessionDir).startsWith("head-")) {
    rmSync(rec.sessionDir, { recursive: true, force: true });
  }
}

/**
 * False only when the pid surely is not a tsray head (Linux: its command line does not
 * name head/main); protects against signalling a recycled pid.
 */
export function looksLikeHead(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return /head[/\\]main\.[jt]s/.test(cmdline);
  } catch {
    return process.platform !== "linux";
  }
}

/** Poll until `pid` is gone; resolves false when `timeoutMs` passes first. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Send a signal, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone.
  }
}
