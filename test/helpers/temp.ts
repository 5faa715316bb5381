import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const created: string[] = [];

/** A new empty directory under os.tmpdir(), unique per call; removed by `removeTempDirs`. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tsray-test-${label}-`));
  created.push(dir);
  return dir;
}

/** A path (not created) inside a fresh temp directory. */
export function tempPath(label: string, name = "marker"): string {
  return join(tempDir(label), name);
}

/** Remove every directory made by tempDir/tempPath in this process. */
export function removeTempDirs(): void {
  for (const d of created.splice(0)) rmSync(d, { recursive: true, force: true });
}
