/** `tsray stop`: stop the head started by `tsray start --head` (Ray's `ray stop`). */
import type { Command } from "commander";
import { config } from "../../config/index.js";
import { Msg } from "../../protocol/index.js";
import { displayAddress, isAlive } from "../../util/index.js";
import { CliError } from "../errors.js";
import { connectHead } from "../head-client.js";
import {
  type HeadRecord,
  latestHeadFile,
  looksLikeHead,
  readHeadRecord,
  removeHeadFiles,
  signal,
  waitForExit,
} from "../head-files.js";
import { looksLikeNode, type NodeRecord, readNodeRecords, removeNodeFiles } from "../node-files.js";

interface StopOptions {
  force?: boolean;
}

/** Ask the head to shut down over its socket; false when it cannot be reached. */
async function requestShutdown(rec: HeadRecord): Promise<boolean> {
  try {
    const client = await connectHead(rec.address, 2000);
    try {
      await client.request({ t: Msg.ShutdownNode }).catch(() => undefined);
    } finally {
      client.close();
    }
    return true;
  } catch {
    return false;
  }
}

/** Stop a worker node this machine started: SIGTERM (SIGKILL with --force, or after the grace period). */
async function stopNode(rec: NodeRecord, force: boolean): Promise<void> {
  if (isAlive(rec.pid) && looksLikeNode(rec.pid)) {
    signal(rec.pid, force ? "SIGKILL" : "SIGTERM");
    const grace = config().killGraceMs + 5000;
    if (!(await waitForExit(rec.pid, grace)) && looksLikeNode(rec.pid)) {
      process.stderr.write(`the node (pid ${rec.pid}) did not exit within ${grace} ms; killing it\n`);
      signal(rec.pid, "SIGKILL");
    }
    if (!(await waitForExit(rec.pid, 5000)))
      throw new CliError(`could not stop the tsray node (pid ${rec.pid})`);
    process.stdout.write(`stopped the tsray node at ${displayAddress(rec.address)} (pid ${rec.pid})\n`);
  }
  removeNodeFiles(rec);
}

async function stop(opts: StopOptions): Promise<void> {
  // Nodes first: once the head is gone they would stop by themselves, but not wait for their workers.
  const nodes = readNodeRecords();
  for (const n of nodes) await stopNode(n, opts.force === true);
  const rec = readHeadRecord();
  if (!rec) {
    if (nodes.length === 0)
      process.stdout.write(`no running tsray head found (${latestHeadFile()} is missing)\n`);
    return;
  }
  if (!isAlive(rec.pid)) {
    removeHeadFiles(rec);
    process.stdout.write(`the tsray head (pid ${rec.pid}) was not running; removed its files\n`);
    return;
  }
  const grace = config().killGraceMs + 5000;
  if (opts.force) {
    if (looksLikeHead(rec.pid)) signal(rec.pid, "SIGKILL");
  } else if (!(await requestShutdown(rec)) && looksLikeHead(rec.pid)) {
    signal(rec.pid, "SIGTERM");
  }
  if (!(await waitForExit(rec.pid, grace)) && looksLikeHead(rec.pid)) {
    process.stderr.write(`the head (pid ${rec.pid}) did not exit within ${grace} ms; killing it\n`);
    signal(rec.pid, "SIGKILL");
  }
  if (!(await waitForExit(rec.pid, 5000))) {
    throw new CliError(`could not stop the tsray head (pid ${rec.pid})`);
  }
  removeHeadFiles(rec);
  process.stdout.write(`stopped the tsray head at ${rec.address} (pid ${rec.pid})\n`);
}

/** Register `tsray stop`. */
export function registerStop(program: Command): void {
  program
    .command("stop")
    .description("stop the tsray head and nodes started on this machine, and their workers")
    .option("--force", "kill the head at once (SIGKILL) instead of shutting it down")
    .action((opts: StopOptions) => stop(opts));
}
