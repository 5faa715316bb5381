// Small helpers shared by every component, one copy each: logging, forced GC,
// finding the package root, process liveness, bounded waits, byte counts and the clock.
// A leaf: it imports only src/config and src/errors.

export { displayAddress, normalizeAddress, primaryAddress, tcpHost } from "./address.js";
export { type ByteStyle, formatBytes } from "./bytes.js";
export { type Clock, FakeClock, realClock, type Timer } from "./clock.js";
export { withDeadline } from "./deadline.js";
export { collectAndSettle, collectGarbage } from "./gc.js";
export { log } from "./log.js";
export {
  type EntryPoint,
  entryPoint,
  FOUND_PACKAGE_ROOT,
  FROM_SOURCE,
  findPackageRoot,
  PACKAGE_ROOT,
  tsxLoaderUrl,
} from "./package-root.js";
export { isAlive } from "./process.js";
export { seededRandom } from "./random.js";
