import { isAlive } from "../util/index.js";
import { getShmBackend } from "./backend.js";
import { invalidArg } from "./checks.js";
import { SEGMENT_PREFIX } from "./names.js";

/**
 * The pid of the process that created `name`, read from the name
 * (`/tsray-<pid>-<tag>-<n>` from {@link newSegmentName}); undefined for a name of
 * another form.
 */
export function segmentCreatorPid(name: string): number | undefined {
  const m = /^\/tsray-(\d+)-/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Unlink every `/tsray-<pid>-<tag>-<n>` segment whose creating process is gone: a
 * creator killed by SIGKILL cannot unlink its own, and tmpfs pages stay allocated
 * until someone does. Segments of live (or other users') processes are kept; one
 * that cannot be unlinked (EACCES: another user's) is skipped. Returns the names
 * removed. Throws `TypeError` for a tag {@link newSegmentName} would reject.
 */
export function removeSegmentsOfDeadCreators(tag: string): string[] {
  if (!/^[A-Za-z0-9_.]+$/.test(tag)) {
    throw invalidArg(`segment tag ${JSON.stringify(tag)} may only contain letters, digits, "_" and "."`);
  }
  const backend = getShmBackend();
  const removed: string[] = [];
  for (const name of backend.listSegments(SEGMENT_PREFIX)) {
    const pid = segmentCreatorPid(name);
    if (pid === undefined || !name.startsWith(`${SEGMENT_PREFIX}${pid}-${tag}-`) || isAlive(pid)) continue;
    try {
      if (backend.unlinkSegment(name)) removed.push(name);
    } catch {
      // Another user's segment, or unlinked by someone else meanwhile.
    }
  }
  return removed;
}
