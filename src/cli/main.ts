#!/usr/bin/env node
/**
 * The `tsray` command line (package `bin`): start, stop, status, memory, microbenchmark,
 * dashboard, timeline. See docs/design/cli.md.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { describeSettings } from "../config/index.js";
import { RayError } from "../errors/index.js";
import { PACKAGE_ROOT } from "../util/index.js";
import { registerDashboard } from "./commands/dashboard.js";
import { registerMemory } from "./commands/memory.js";
import { registerMicrobenchmark } from "./commands/microbenchmark.js";
import { registerStart } from "./commands/start.js";
import { registerStatus } from "./commands/status.js";
import { registerStop } from "./commands/stop.js";
import { registerTimeline } from "./commands/timeline.js";
import { CliError } from "./errors.js";
import { sweepDeadHeads } from "./sweep.js";

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

function settingsHelp(): string {
  const lines = describeSettings().map((s) => `  ${s.env} (default ${JSON.stringify(s.default)})`);
  return `\nSettings (environment variables):\n${lines.join("\n")}\n`;
}

const program = new Command("tsray")
  .description("Ray's core for TypeScript: manage a tsray head on this machine")
  .version(version())
  .showHelpAfterError("(run `tsray --help` for usage)")
  .exitOverride()
  .addHelpText("after", settingsHelp());
registerStart(program);
registerStop(program);
registerStatus(program);
registerMemory(program);
registerMicrobenchmark(program);
registerDashboard(program);
registerTimeline(program);

sweepDeadHeads();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander already printed help, the version or the usage error.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof CliError) {
    process.stderr.write(`tsray: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else if (err instanceof RayError) {
    // tsray's own typed errors (an unsafe session root, no secret) say all there is to say.
    process.stderr.write(`tsray: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`tsray: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
