/** `tsray dashboard`: not available yet (exit 2). */
import type { Command } from "commander";
import { CliError } from "../errors.js";

/** Register `tsray dashboard`. */
export function registerDashboard(program: Command): void {
  program
    .command("dashboard")
    .description("(not available yet) a web dashboard of the cluster")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new CliError(
        "`tsray dashboard` is not available yet: tsray has no web dashboard. " +
          "Use `tsray status` to see nodes, resources and workers.",
        2,
      );
    });
}
