import { readdirSync } from "node:fs";
import { SEGMENT_PREFIX } from "./names.js";

/**
 * Segment names (with their leading "/") of the files in `dir` whose names start
 * with `prefix`, sorted. A missing directory lists nothing.
 */
export function listSegmentFiles(dir: string, prefix: string = SEGMENT_PREFIX): string[] {
  if (typeof prefix !== "string") throw new TypeError("prefix must be a string");
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const out: string[] = [];
  for (const entry of entries) {
    const name = `/${entry}`;
    if (name.startsWith(prefix)) out.push(name);
  }
  return out.sort();
}
