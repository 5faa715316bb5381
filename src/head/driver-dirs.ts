import { rmSync } from "node:fs";
import { basename, dirname } from "node:path";
import { isAlive } from "../util/index.js";

/** How long to wait for a disconnected driver's process to be gone (its socket closes first). */
const DRIVER_GONE_WAIT_MS = 2000;

/**
 * A driver connected to a standalone head has its own `session-<ms>-<pid>` directory
 * (just its socket) next to the head's. Once that driver has disconnected and its
 * pid is dead, remove the directory: a SIGKILLed driver cannot, and no other process
 * knows of it. Only a directory that names the driver's pid, holds the driver's
 * socket (`d<pid>-….sock`) and lies in the same session root as `headSessionDir` is
 * touched; a live driver's is kept. Never throws.
 */
export async function removeDeadDriverDir(driverAddress: string, headSessionDir: string): Promise<void> {
  const sock = /^d(\d+)-[0-9a-f]+\.sock$/.exec(basename(driverAddress));
  const dir = dirname(driverAddress);
  const named = /^session-\d+-(\d+)$/.exec(basename(dir));
  if (!sock || !named || sock[1] !== named[1] || dirname(dir) !== dirname(headSessionDir)) return;
  const pid = Number(sock[1]);
  const deadline = Date.now() + DRIVER_GONE_WAIT_MS;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return; // Alive: it disconnected on purpose and cleans up itself.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // Someone else's (another user's) or already gone.
  }
}
