/** `tsray start --head`: start a standalone head on this machine (Ray's `ray start --head`). */
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { detectGpus, secretForAddress } from "../../api/index.js";
import { config } from "../../config/index.js";
import { type ResourceMap, toDemand, validateNodeLabels } from "../../scheduling/index.js";
import { parseToken, SECRET_FILE } from "../../transport/index.js";
import { displayAddress, isAlive, normalizeAddress, primaryAddress } from "../../util/index.js";
import { CliError } from "../errors.js";
import {
  type HeadRecord,
  readHeadRecord,
  removeHeadFiles,
  signal,
  waitForExit,
  writeHeadRecord,
} from "../head-files.js";
import { writeNodeRecord } from "../node-files.js";
import { spawnHead } from "../spawn-head.js";
import { spawnNode } from "../spawn-node.js";

interface StartOptions {
  head?: boolean;
  address?: string;
  port?: string;
  bind?: string;
  nodeIpAddress?: string;
  token?: string;
  addressFile?: string;
  numCpus?: string;
  numGpus?: string;
  resources?: string;
  labels?: string;
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

function parseLabels(opts: StartOptions): Record<string, string> | undefined {
  if (opts.labels === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(opts.labels);
  } catch {
    throw new CliError(`--labels must be a JSON object like '{"zone": "a"}', got ${opts.labels}`, 2);
  }
  try {
    return { ...validateNodeLabels(raw, "--labels") };
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
}

function describe(rec: HeadRecord, block: boolean): string {
  return [
    "tsray head started",
    `  address: ${displayAddress(rec.address)}`,
    `  pid:     ${rec.pid}`,
    `  node:    ${rec.nodeId}`,
    `  log:     ${rec.logFile}`,
    `  secret:  ${join(rec.sessionDir, SECRET_FILE)} (0600; every connection must prove it)`,
    "Connect a driver on this machine, as this user, with:",
    '  await ray.init({ address: "auto" })',
    `  await ray.init({ address: ${JSON.stringify(displayAddress(rec.address))} })`,
    ...(rec.address.startsWith("tcp://")
      ? [
          `Join another node: tsray start --address ${displayAddress(rec.address)}`,
          "Other users or machines need the secret: pass --token or set TSRAY_AUTH_TOKEN to the content of that file.",
        ]
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

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIp(raw: string | undefined, flag: string, dflt: string): string {
  if (raw === undefined) return dflt;
  const m = IPV4.exec(raw);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) {
    throw new CliError(
      `${flag} must be an IPv4 address like 10.0.0.1 (0.0.0.0: every interface), got ${JSON.stringify(raw)}`,
      2,
    );
  }
  return raw;
}

/** The TCP listen of a head or node: --port (default for a node: any free port), --bind, --node-ip-address. */
function tcpListen(opts: StartOptions, dfltPort: number): { port: number; bind: string; ip: string } {
  const bind = parseIp(opts.bind, "--bind", "0.0.0.0");
  const dfltIp = bind === "0.0.0.0" ? primaryAddress() : bind;
  return {
    port: opts.port === undefined ? dfltPort : parsePort(opts.port),
    bind,
    ip: parseIp(opts.nodeIpAddress, "--node-ip-address", dfltIp),
  };
}

/** The cluster secret for joining `headAddress`: --token, TSRAY_AUTH_TOKEN, or this machine's record of that head. */
function joinSecret(opts: StartOptions, headAddress: string): Buffer {
  if (opts.token !== undefined) return parseToken(opts.token, "--token");
  try {
    return secretForAddress(headAddress);
  } catch (err) {
    throw new CliError(
      `${(err as Error).message}; or pass --token <the content of the head's secret file> (it is printed by \`tsray start --head\`)`,
      2,
    );
  }
}

async function startNode(opts: StartOptions): Promise<void> {
  let headAddress: string;
  try {
    headAddress = normalizeAddress(opts.address!, "--address");
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  if (!headAddress.startsWith("tcp://")) {
    throw new CliError(
      `--address must be the head's host:port (a TCP head), got ${JSON.stringify(opts.address)}`,
      2,
    );
  }
  const listen = tcpListen(opts, 0);
  const secret = joinSecret(opts, headAddress);
  const { resources, gpuIds } = await parseResources(opts);
  const labels = parseLabels(opts);
  const { record, child } = await spawnNode({ headAddress, secret, resources, gpuIds, labels, ...listen });
  writeNodeRecord(record);
  child.unref();
  process.stdout.write(
    [
      "tsray node started",
      `  address: ${displayAddress(record.address)}`,
      `  head:    ${displayAddress(headAddress)}`,
      `  pid:     ${record.pid}`,
      `  node:    ${record.nodeId}`,
      `  log:     ${record.logFile}`,
      "Connect a driver to this node with:",
      `  await ray.init({ address: ${JSON.stringify(displayAddress(record.address))} })`,
      "Show the cluster with `tsray status`; stop what this machine started with `tsray stop`.",
      "",
    ].join("\n"),
  );
}

async function start(opts: StartOptions): Promise<void> {
  if (opts.address !== undefined && opts.head) {
    throw new CliError("tsray start takes --head (start a head) or --address (join one), not both", 2);
  }
  if (opts.address !== undefined) return startNode(opts);
  if (!opts.head)
    throw new CliError(
      "tsray start needs --head (start a head node) or --address <head host:port> (join one)",
      2,
    );
  if (opts.token !== undefined)
    throw new CliError("--token is for joining (--address); a head makes its own secret", 2);
  const listen = opts.port === undefined && opts.bind === undefined ? "unix" : tcpListen(opts, 6380);
  const { resources, gpuIds } = await parseResources(opts);
  const labels = parseLabels(opts);
  const existing = readHeadRecord();
  if (existing && isAlive(existing.pid)) {
    throw new CliError(
      `a tsray head is already running at ${existing.address} (pid ${existing.pid}); stop it first with \`tsray stop\``,
    );
  }
  if (existing) removeHeadFiles(existing);
  const { record, child } = await spawnHead({ listen, resources, gpuIds, labels });
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
    .description("start a tsray head, or a node that joins one, on this machine")
    .option("--head", "start the head node (control store + node manager)")
    .option("--address <host:port>", "join the cluster whose head listens there (starts a worker node)")
    .option(
      "--port <port>",
      "listen on TCP <port> (0: any free port): a head's default is a Unix socket, a node's any free port",
    )
    .option(
      "--bind <ip>",
      "the interface to listen on (default 0.0.0.0: every interface; 127.0.0.1 keeps it local)",
    )
    .option(
      "--node-ip-address <ip>",
      "the address other nodes dial (default: this machine's primary address, or --bind's)",
    )
    .option("--token <hex>", "the cluster's secret when joining from another machine (also TSRAY_AUTH_TOKEN)")
    .option("--address-file <file>", "also write the head's address to <file>")
    .option("--num-cpus <n>", "CPUs of the node (default: this machine's)")
    .option("--num-gpus <n>", "GPUs of the node (default: detected)")
    .option("--resources <json>", "custom resources, e.g. '{\"accel\": 2}'")
    .option("--labels <json>", 'node labels for label selectors, e.g. \'{"zone": "a"}\'')
    .option("--block", "stay in the foreground; Ctrl-C stops the head")
    .action((opts: StartOptions) => start(opts));
}
