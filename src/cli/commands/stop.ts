/** `tsray stop`: stop the head started by `tsray start --head` (Ray's `ray stop`). */
import type { Command } from "commander";
import { config } from "../../config/index.js";
import { Msg } from "../../protocol/index.js";
import { isAlive } from "../../util/index.js";
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

async function stop(opts: StopOptions): Promise<void> {
  const rec = readHeadRecord();
  if (!rec) {
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
    .description("stop the tsray head started on this machine, and its workers")
    .option("--force", "kill the head at once (SIGKILL) instead of shutting it down")
    .action((opts: StopOptions) => stop(opts));
}
