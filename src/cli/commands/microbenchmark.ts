/** `tsray microbenchmark`: run the benchmark suite of a source checkout (Ray's `ray microbenchmark`). */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { PACKAGE_ROOT } from "../../util/index.js";
import { CliError } from "../errors.js";

interface MicrobenchmarkOptions {
  filter?: string;
  withPeers?: boolean;
  list?: boolean;
  seconds?: string;
}

async function microbenchmark(opts: MicrobenchmarkOptions): Promise<void> {
  const root = PACKAGE_ROOT; // a source checkout has scripts/ and bench/ there
  const main = join(root, "scripts", "bench.mjs");
  if (!existsSync(main)) {
    throw new CliError(
      "the microbenchmark is not part of the installed package: it needs a source checkout of tsray " +
        "(its bench/ folder). In a checkout run `npm install && npm run bench`.",
      2,
    );
  }
  if (opts.seconds !== undefined && !(Number(opts.seconds) > 0)) {
    throw new CliError(`--seconds must be a positive number, got ${JSON.stringify(opts.seconds)}`, 2);
  }
  const args = [main];
  if (opts.filter !== undefined) args.push("--filter", opts.filter);
  if (opts.withPeers) args.push("--with-peers");
  if (opts.list) args.push("--list");
  const env = { ...process.env };
  if (opts.seconds !== undefined) env.BENCH_SECONDS = opts.seconds;
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: "inherit" });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  const code = await new Promise<number>((resolve) => {
    child.on("error", (err) => {
      process.stderr.write(`tsray: cannot run the benchmark: ${err.message}\n`);
      resolve(1);
    });
    child.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  process.off("SIGINT", forward);
  process.off("SIGTERM", forward);
  process.exitCode = code;
}

/** Register `tsray microbenchmark`. */
export function registerMicrobenchmark(program: Command): void {
  program
    .command("microbenchmark")
    .description("run tsray's microbenchmarks (JSON lines; needs a source checkout)")
    .option("--filter <regex>", "run only the scenarios whose names match")
    .option("--with-peers", "also measure ../shared/peers (limits, Piscina) and print ratios")
    .option("--list", "list the scenario names")
    .option("--seconds <s>", "measured seconds per scenario (BENCH_SECONDS, default 2)")
    .action((opts: MicrobenchmarkOptions) => microbenchmark(opts));
}
