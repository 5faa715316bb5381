// How a driver tells a node to start its workers: only a loader chosen from the enum
// the node offers (WORKER_LOADERS), derived from this process's own flags. The node
// never runs a command or flags from the wire (issue 16), so flags of the driver that
// no loader explains cannot reach workers: the driver says so once, at init().
import type { WorkerLoader } from "../protocol/index.js";

/** What a driver's flags mean for its workers. */
export interface LoaderChoice {
  /** The loader workers start with. */
  readonly loader: WorkerLoader;
  /** Flags of the driver its workers will not get (each as written, with its value). */
  readonly ignored: readonly string[];
}

/** Flags that load a module before the entry; their value names it. */
const PRELOAD_FLAGS = new Set(["--import", "--require", "-r", "--loader", "--experimental-loader"]);
/** Flags a loader choice or the worker's own flags already cover. */
const COVERED_FLAGS = new Set(["--experimental-strip-types", "--no-experimental-strip-types", "--expose-gc"]);

/** True for the ways tsx is preloaded: `tsx`, `tsx/esm`, or a path into an installed tsx (the tsx CLI). */
function isTsx(specifier: string): boolean {
  return (
    specifier === "tsx" || specifier.startsWith("tsx/") || /[\\/]node_modules[\\/]tsx[\\/]/.test(specifier)
  );
}

/**
 * The loader for workers of a driver started with `execArgv` on a Node whose
 * `process.features.typescript` is `typescript`: `tsx` when tsx is preloaded, else
 * `strip-types` when this Node strips types, else `none`; plus the flags that stay
 * behind (other preloads, memory limits...).
 */
export function loaderOf(execArgv: readonly string[], typescript: unknown): LoaderChoice {
  const argv = workerExecArgv(execArgv);
  let tsx = false;
  const ignored: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf("=");
    const name = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    if (PRELOAD_FLAGS.has(name)) {
      const value = eq > 0 && name !== a ? a.slice(eq + 1) : argv[++i];
      if (value !== undefined && isTsx(value)) tsx = true;
      else ignored.push(value === undefined ? a : name === a ? `${a} ${value}` : a);
    } else if (!COVERED_FLAGS.has(name)) {
      ignored.push(a);
    }
  }
  const loader: WorkerLoader = tsx ? "tsx" : typeof typescript === "string" ? "strip-types" : "none";
  return { loader, ignored };
}

/** Flags of this process that make no sense in a worker (test runner, debugger, eval, watch). */
export function workerExecArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  const dropWithValue = new Set([
    "-e",
    "--eval",
    "-p",
    "--print",
    "-r?",
    "--input-type",
    "--test-reporter",
    "--test-reporter-destination",
    "--test-name-pattern",
    "--test-concurrency",
    "--test-timeout",
    "--test-shard",
    "--test-skip-pattern",
  ]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.split("=")[0]!;
    if (dropWithValue.has(name)) {
      if (!a.includes("=")) i++;
      continue;
    }
    if (
      /^--(test|inspect|debug|watch|prof|cpu-prof|heap-prof|experimental-test|env-file|check|interactive)/.test(
        name,
      ) ||
      name === "-i" ||
      name === "-c"
    )
      continue;
    out.push(a);
  }
  return out;
}
