/**
 * A real zombie process for liveness tests: a shell starts a child that exits at
 * once, then replaces itself with `sleep`, which never reaps that child. Kill
 * `parent` (e.g. with killPids) when done; the zombie goes with it.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { pollUntil } from "./processes.js";

/** The state letter of /proc/<pid>/stat ("S", "Z", ...), or undefined once the pid is gone. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2);
  } catch {
    return undefined;
  }
}

/**
 * Resolves once `pid` is a zombie whose parent `parent` (a sleep) never reaps it.
 * The child outlives the shell's exec by a moment (`sleep 0.2`): a shell may reap a
 * child that exits before the exec. If that still happens (a loaded machine), the
 * attempt is discarded and made again; at most 5 attempts of 10 s each.
 */
export async function makeZombie(): Promise<{ pid: number; parent: number }> {
  for (let attempt = 1; ; attempt++) {
    const sh = spawn("sh", ["-c", "sleep 0.2 & echo $!; exec sleep 60"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const parent = sh.pid!;
    let out = "";
    sh.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const pid = await pollUntil(
      () => (/^\d+\n/.test(out) ? Number.parseInt(out, 10) : undefined),
      10_000,
      "the background child's pid",
    );
    sh.stdout.destroy();
    // Done when it is a zombie, or gone (reaped by the shell after all).
    const exited = () => {
      const state = procState(pid);
      return state === undefined ? "gone" : state === "Z" ? "Z" : undefined;
    };
    const state = await pollUntil(exited, 10_000, `pid ${pid} to exit`);
    if (state === "Z") return { pid, parent };
    sh.kill("SIGKILL");
    if (attempt === 5) throw new Error(`no zombie in 5 attempts: the shell reaped pid ${pid} each time`);
  }
}
