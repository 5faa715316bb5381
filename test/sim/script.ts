// Scenario files, in the data-driven style of etcd-raft's interaction tests: each block
// is a command, a `----` line, and the output the command must print. `--rewrite`
// replaces the outputs with what the run printed (review the diff, then commit it).
import { readFileSync, writeFileSync } from "node:fs";
import { SimCluster } from "./cluster.js";
import { runCommand } from "./commands.js";

/** One command of a scenario and the output it is expected to print. */
export interface Step {
  /** Comment lines before it (kept on rewrite). */
  readonly comments: string[];
  readonly command: string;
  readonly expected: string[];
  /** 1-based line of the command in its file. */
  readonly line: number;
}

/** Parse a scenario file. Throws naming the line of a malformed block. */
export function parseScenario(text: string, file: string): Step[] {
  const lines = text.split("\n");
  const steps: Step[] = [];
  let i = 0;
  while (i < lines.length) {
    const comments: string[] = [];
    while (i < lines.length && (lines[i]!.trim() === "" || lines[i]!.startsWith("#"))) {
      if (lines[i]!.startsWith("#")) comments.push(lines[i]!);
      else if (comments.length > 0) comments.push("");
      i++;
    }
    if (i >= lines.length) break;
    while (comments.at(-1) === "") comments.pop();
    const line = i + 1;
    const command = lines[i++]!.trim();
    if (lines[i] !== "----")
      throw new Error(`${file}:${line + 1}: expected "----" after the command "${command}"`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== "") expected.push(lines[i++]!);
    steps.push({ comments, command, expected, line });
  }
  return steps;
}

/** Print steps back as a scenario file, with the given outputs. */
export function formatScenario(steps: readonly Step[], outputs: readonly string[][]): string {
  const blocks = steps.map((s, k) => [...s.comments, s.command, "----", ...(outputs[k] ?? [])].join("\n"));
  return `${blocks.join("\n\n")}\n`;
}

/** What running one scenario found. */
export interface ScenarioResult {
  readonly file: string;
  readonly passed: boolean;
  /** Human text of the first mismatch or error (empty when passed). */
  readonly failure: string;
}

/** Seed of a scenario: from its `# seed: N` line, else 1; TSRAY_SIM_SEED overrides. */
function seedOf(text: string): number {
  const env = process.env.TSRAY_SIM_SEED;
  if (env) return Number(env);
  const m = /^# seed: (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 1;
}

/** Run a scenario file against a fresh simulated cluster; with `rewrite`, store what it printed. */
export async function runScenario(file: string, rewrite: boolean): Promise<ScenarioResult> {
  const text = readFileSync(file, "utf8");
  const steps = parseScenario(text, file);
  const sim = new SimCluster(seedOf(text));
  const outputs: string[][] = [];
  let failure = "";
  try {
    for (const step of steps) {
      let out: string[];
      try {
        out = await runCommand(sim, step.command);
      } catch (err) {
        out = [`command failed: ${(err as Error).message}`];
      }
      outputs.push(out);
      if (!rewrite && !failure && out.join("\n") !== step.expected.join("\n")) {
        failure =
          `${file}:${step.line}: ${step.command}\n  expected:\n${indent(step.expected)}\n  got:\n${indent(out)}\n` +
          `  (seed ${sim.seed}; TSRAY_SIM_SEED=${sim.seed} replays; npm run sim -- --rewrite stores the new output)`;
        break;
      }
    }
  } finally {
    await sim.close();
  }
  if (rewrite) writeFileSync(file, formatScenario(steps, outputs));
  return { file, passed: failure === "", failure };
}

function indent(lines: readonly string[]): string {
  return lines.length === 0 ? "    (nothing)" : lines.map((l) => `    ${l}`).join("\n");
}
