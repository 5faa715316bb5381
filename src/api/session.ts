import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { config } from "../config/index.js";

/** Root directory of session directories (sockets, logs). */
export function sessionRoot(): string {
  return config().sessionRoot || join(tmpdir(), "tsray");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A new session directory, named after this driver's pid. Directories left by
 * drivers that died without shutdown() are removed on the way.
 */
export function createSessionDir(): string {
  const root = sessionRoot();
  mkdirSync(root, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(root)) {
    const m = /^session-\d+-(\d+)$/.exec(name);
    if (m && !alive(Number(m[1]))) rmSync(join(root, name), { recursive: true, force: true });
  }
  let dir: string;
  let n = 0;
  do dir = join(root, `session-${Date.now() + n++}-${process.pid}`);
  while (existsSync(dir));
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/**
 * GPUs of this machine: CUDA_VISIBLE_DEVICES when set, else what `nvidia-smi -L` lists (none if absent).
 * child_process is imported here, not at the top: workers load this module but never
 * detect GPUs, and every built-in module they load adds to each worker's memory.
 */
export async function detectGpus(): Promise<number[]> {
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined && visible.trim() !== "") {
    const ids = visible.split(",").map((s) => Number(s.trim()));
    if (ids.every((n) => Number.isInteger(n) && n >= 0)) return ids;
  }
  const { execFileSync } = await import("node:child_process");
  try {
    const out = execFileSync("nvidia-smi", ["-L"], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    return out
      .split("\n")
      .map((l) => /^GPU (\d+):/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
  } catch {
    return [];
  }
}
