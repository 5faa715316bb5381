/**
 * Shared memory for the object store: named POSIX segments mapped zero-copy through
 * the tsray_shm addon, with a pure-JS fallback (files + copies) when the addon is
 * missing, and an arena {@link Allocator} to place objects inside a segment.
 *
 * The module-level functions use the process default backend ({@link shmBackend});
 * {@link getShmBackend} picks one explicitly.
 */
import { getShmBackend } from "./backend.js";
import type { CreateSegmentOptions, ParentDeathMechanism, Segment } from "./types.js";

export { findPackageRoot } from "../util/index.js";
export { ALLOCATOR_ALIGNMENT, Allocator } from "./allocator.js";
export { getShmBackend, type ShmBackendInfo, shmBackend, shmBackendInfo } from "./backend.js";
export { ShmError } from "./errors.js";
export { fallbackDirectory, JsShmBackend } from "./js-backend.js";
export { newSegmentName, SEGMENT_PREFIX } from "./names.js";
export { removeSegmentsOfDeadCreators, segmentCreatorPid } from "./stale.js";
export type {
  CreateSegmentOptions,
  ParentDeathMechanism,
  Segment,
  ShmBackend,
  ShmBackendKind,
} from "./types.js";

/** Creates and maps a new segment with the default backend; see {@link ShmBackend.createSegment}. */
export function createSegment(name: string, size: number, options?: CreateSegmentOptions): Segment {
  return getShmBackend().createSegment(name, size, options);
}

/** Maps an existing segment with the default backend; see {@link ShmBackend.openSegment}. */
export function openSegment(name: string, options?: { copyOnWrite?: boolean }): Segment {
  return getShmBackend().openSegment(name, options);
}

/** Removes a segment's name; false if it did not exist. See {@link ShmBackend.unlinkSegment}. */
export function unlinkSegment(name: string): boolean {
  return getShmBackend().unlinkSegment(name);
}

/** Existing segment names starting with `prefix` (default `/tsray-`). */
export function listSegments(prefix?: string): string[] {
  return getShmBackend().listSegments(prefix);
}

/** Arranges for `signal` (default SIGKILL) when the parent dies; see {@link ShmBackend.setParentDeathSignal}. */
export function setParentDeathSignal(
  signal?: NodeJS.Signals | number,
  parentPid?: number,
): ParentDeathMechanism {
  return getShmBackend().setParentDeathSignal(signal, parentPid);
}
