/** `tsray start --head`: start a standalone head on this machine (Ray's `ray start --head`). */
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { detectGpus } from "../../api/index.js";
import { config } from "../../config/index.js";
import { type ResourceMap, toDemand } from "../../scheduling/index.js";
import { SECRET_FILE } from "../../transport/index.js";
import { isAlive } from "../../util/index.js";
import { CliError } from "../errors.js";
import {
  type HeadRecord,
  readHeadRecord,
  removeHeadFiles,
  signal,
  waitForExit,
  writeHeadRecord,
} from "../head-files.js";
import { spawnHead } from "../spawn-head.js";

interface StartOptions {
  head?: boolean;
  address?: string;
  port?: string;
  addressFile?: string;
  numCpus?: string;
  numGpus?: string;
  resources?: string;
  block?: boolean;
}

function parsePort(raw: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(`--port must be an integer from 0 to 65535, got ${JSON.stringify(raw)}`, 2);
  }
  return port;
}

async function parseResources(
  opts: StartOptions,
): Promise<{ resources: ResourceMap; gpuIds: number[] | undefined }> {
  let custom: unknown;
  if (opts.resources !== undefined) {
    try {
      custom = JSON.parse(opts.resources);
    } catch {
      throw new CliError(`--resources must be a JSON object like '{"accel": 2}', got ${opts.resources}`, 2);
    }
  }
  const gpus = opts.numGpus === undefined ? await detectGpus() : undefined;
  try {
    const resources = toDemand(
      {
        numCpus: opts.numCpus === undefined ? availableParallelism() : Number(opts.numCpus),
        numGpus: opts.numGpus === undefined ? gpus!.length : Number(opts.numGpus),
        resources: custom,
      },
      0,
      "tsray start",
    );
    return { resources, gpuIds: gpus && gpus.length > 0 ? gpus : undefined };
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
}

function describe(rec: HeadRecord, block: boolean): string {
  return [
    "tsray head started",
    `  address: ${rec.address}`,
    `  pid:     ${rec.pid}`,
    `  node:    ${rec.nodeId}`,
    `  log:     ${rec.logFile}`,
    `  secret:  ${join(rec.sessionDir, SECRET_FILE)} (0600; every connection must prove it)`,
    "Connect a driver on this machine, as this user, with:",
    '  await ray.init({ address: "auto" })',
    `  await ray.init({ address: ${JSON.stringify(rec.address)} })`,
    ...(rec.address.startsWith("tcp://")
      ? ["Other users or machines need the secret: set TSRAY_AUTH_TOKEN to the content of that file."]
      : []),
    block ? "Press Ctrl-C to stop it." : "Show it with `tsray status`; stop it with `tsray stop`.",
    "",
  ].join("\n");
}

/** Stop the head in the foreground (--block): SIGTERM, then SIGKILL after the grace period. */
async function stopBlocked(rec: HeadRecord): Promise<void> {
  signal(rec.pid, "SIGTERM");
  if (!(await waitForExit(rec.pid, config().killGraceMs + 5000))) {
    signal(rec.pid, "SIGKILL");
    await waitForExit(rec.pid, 5000);
  }
  removeHeadFiles(rec);
}

async function start(opts: StartOptions): Promise<void> {
  if (opts.address !== undefined) {
    throw new CliError(
      "multi-node clusters are not supported yet: `tsray start --address` cannot join a node to a cluster. " +
        'Run drivers on the head\'s machine with `init({ address: "auto" })`.',
      2,
    );
  }
  if (!opts.head) throw new CliError("tsray start needs --head (start a head node on this machine)", 2);
  const listen = opts.port === undefined ? "unix" : parsePort(opts.port);
  const { resources, gpuIds } = await parseResources(opts);
  const existing = readHeadRecord();
  if (existing && isAlive(existing.pid)) {
    throw new CliError(
      `a tsray head is already running at ${existing.address} (pid ${existing.pid}); stop it first with \`tsray stop\``,
    );
  }
  if (existing) removeHeadFiles(existing);
  const { record, child } = await spawnHead({ listen, resources, gpuIds });
  writeHeadRecord(record);
  if (opts.addressFile) writeFileSync(opts.addressFile, `${record.address}\n`);
  process.stdout.write(describe(record, opts.block === true));
  if (!opts.block) {
    child.unref();
    return;
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) return;
      stopping = true;
      process.stdout.write("stopping the tsray head...\n");
      void stopBlocked(record).then(resolve);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    child.once("exit", (code, sig) => {
      if (stopping) return;
      removeHeadFiles(record);
      process.stderr.write(`tsray: the head exited (code ${code}, signal ${sig})\n`);
      if (code !== 0) process.exitCode = 1;
      resolve();
    });
  });
}

/** Register `tsray start`. */
export function registerStart(program: Command): void {
  program
    .command("start")
    .description("start a tsray head node on this machine")
    .option("--head", "start the head node (control store + node manager)")
    .option("--address <host:port>", "join an existing cluster (not supported yet)")
    .option("--port <port>", "listen on TCP 127.0.0.1:<port> (0: any free port) instead of a Unix socket")
    .option("--address-file <file>", "also write the head's address to <file>")
    .option("--num-cpus <n>", "CPUs of the node (default: this machine's)")
    .option("--num-gpus <n>", "GPUs of the node (default: detected)")
    .option("--resources <json>", "custom resources, e.g. '{\"accel\": 2}'")
    .option("--block", "stay in the foreground; Ctrl-C stops the head")
    .action((opts: StartOptions) => start(opts));
}
