/** `tsray timeline`: not available yet (exit 2). */
import type { Command } from "commander";
import { CliError } from "../errors.js";

/** Register `tsray timeline`. */
export function registerTimeline(program: Command): void {
  program
    .command("timeline")
    .description("(not available yet) write a Chrome trace of task events")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new CliError(
        "`tsray timeline` is not available yet: tsray does not record task events, " +
          "so there is no trace to write (Ray's `ray timeline` writes one for chrome://tracing).",
        2,
      );
    });
}
