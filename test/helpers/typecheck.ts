/**
 * Run tsc --noEmit over some files with the project's options, for tests of what
 * compiles and what does not (`@ts-expect-error` cases and their negative controls).
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

/**
 * Type-check `files` with a tsconfig written to `<dir>/<name>.tsconfig.json` that extends
 * the project's; `paths` maps module names (e.g. "tsray" to the built package's types).
 * tsc is killed after `timeoutMs`.
 */
export function typecheck(
  dir: string,
  name: string,
  files: string[],
  opts: { paths?: Record<string, string[]>; timeoutMs: number },
): { status: number | null; output: string } {
  const config = join(dir, `${name}.tsconfig.json`);
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(ROOT, "tsconfig.json"),
      compilerOptions: {
        noEmit: true,
        incremental: false,
        rootDir: "/",
        typeRoots: [join(ROOT, "node_modules", "@types")],
        ...(opts.paths ? { paths: opts.paths } : {}),
      },
      files,
      include: [],
    }),
  );
  const r = spawnSync(process.execPath, [TSC, "-p", config, "--pretty", "false"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: opts.timeoutMs,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
