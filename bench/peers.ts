/**
 * Peer figures measured beside tsray in the same run: the physical limits of this
 * machine (`limits.mjs`) and Piscina on the same trivial task (`piscina.sh`), from
 * `../shared/peers` next to the repository (override: BENCH_PEERS_DIR). Prints their
 * JSON lines, then ratio lines comparing tsray's figures with them.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { emit, type ResultLine, roundValue } from "./harness.js";

/** A figure keyed by system ("tsray", "limit", "piscina") and scenario name. */
export type Figures = Map<string, number>;

/** Key of a figure in {@link Figures}. */
export function figureKey(system: string, name: string): string {
  return `${system}:${name}`;
}

/** The peers folder: BENCH_PEERS_DIR, else `../shared/peers` from the repository root. */
export function peersDir(): string {
  // This file runs from bench/ (tsx) or build/bench/ (compiled): find the repository root.
  let repoRoot = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(repoRoot, "package.json")) && dirname(repoRoot) !== repoRoot)
    repoRoot = dirname(repoRoot);
  return process.env.BENCH_PEERS_DIR ?? resolve(repoRoot, "..", "shared", "peers");
}

const PEER_SCRIPTS: ReadonlyArray<{ file: string; cmd: string; system: string }> = [
  { file: "limits.mjs", cmd: process.execPath, system: "limit" },
  { file: "piscina.sh", cmd: "bash", system: "piscina" },
];

/** Run one peer script, print its JSON lines as they come, and record their values. */
function runScript(cmd: string, file: string, figures: Figures, fallbackSystem: string): Promise<void> {
  return new Promise((done) => {
    const child = spawn(cmd, [file], { stdio: ["ignore", "pipe", "inherit"] });
    let buf = "";
    const onLine = (line: string) => {
      const text = line.trim();
      if (!text.startsWith("{")) return;
      try {
        const parsed = JSON.parse(text) as ResultLine & { system?: string };
        if (typeof parsed.value === "number") {
          figures.set(figureKey(parsed.system ?? fallbackSystem, parsed.name), parsed.value);
        }
        process.stdout.write(`${text}\n`);
      } catch {
        // Not a result line.
      }
    };
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buf += chunk;
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
      }
    });
    child.on("error", (err) => {
      note(`peer ${file} could not start: ${err.message}`);
      done();
    });
    child.on("close", (code) => {
      if (buf) onLine(buf);
      if (code !== 0) note(`peer ${file} exited with code ${code}; its figures may be missing`);
      done();
    });
  });
}

/** Print a note line (a line without a value that readers skip). */
export function note(text: string): void {
  emit({ name: "note", value: null, unit: "note", note: text });
}

/** Run every peer script that exists, one after another, recording their figures. */
export async function runPeers(figures: Figures): Promise<void> {
  const dir = peersDir();
  if (!existsSync(dir)) {
    note(`peers skipped: ${dir} does not exist (set BENCH_PEERS_DIR)`);
    return;
  }
  for (const p of PEER_SCRIPTS) {
    const file = join(dir, p.file);
    if (!existsSync(file)) note(`peer ${file} is absent; skipped`);
    else await runScript(p.cmd, file, figures, p.system);
  }
}

/** [tsray figure, peer system, peer figure]: the ratios printed after the peers. */
const RATIOS: ReadonlyArray<readonly [string, string, string]> = [
  ["single client tasks sync", "limit", "bare rpc sync"],
  ["single client tasks async", "limit", "bare rpc pipelined"],
  ["single client tasks sync", "piscina", "single client tasks sync"],
  ["single client tasks async", "piscina", "single client tasks async"],
  ["single client put gigabytes", "limit", "memcpy"],
  ["1 GiB between two nodes", "limit", "socket throughput one way"],
  ["1 GiB between two nodes", "tsray", "tcp loopback throughput one way"],
];

/** Print a ratio line for every pair whose two figures were measured in this run. */
export function printRatios(figures: Figures): void {
  for (const [ours, system, theirs] of RATIOS) {
    const a = figures.get(figureKey("tsray", ours));
    const b = figures.get(figureKey(system, theirs));
    if (a === undefined || b === undefined || b === 0) continue;
    const label = system === "limit" ? theirs : `${system} ${theirs}`;
    emit({ name: `ratio: ${ours} / ${label}`, value: roundValue(a / b), unit: "ratio" });
  }
}
