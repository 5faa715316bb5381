// Segments of 4 GiB and more: sizes travel as 64-bit values end to end. Where
// /dev/shm cannot hold the size, the error must say so (ENOSPC); where this Node.js
// cannot expose that many bytes as one ArrayBuffer (Node 20 caps external buffers
// at 4 GiB), the error must say that (ERANGE).
import assert from "node:assert/strict";
import { constants } from "node:buffer";
import { statfsSync } from "node:fs";
import { afterEach, test } from "node:test";
import { getShmBackend, JsShmBackend, type ShmBackendKind, ShmError } from "../../src/shm/index.js";
import { Resources } from "./fixtures/helpers.js";

const GiB = 2 ** 30;
const nativeAvailable = (() => {
  try {
    getShmBackend("native");
    return true;
  } catch {
    return false;
  }
})();

const res = new Resources();
afterEach(() => res.cleanup());

function freeBytes(kind: ShmBackendKind): number {
  const shm = getShmBackend(kind);
  const fs = statfsSync(shm instanceof JsShmBackend ? shm.directory : "/dev/shm");
  return fs.bavail * fs.bsize;
}

for (const kind of ["native", "js-fallback"] as const) {
  for (const size of [4 * GiB, 4 * GiB + 65536, 6 * GiB + 4096]) {
    test(`${kind}: a ${size}-byte segment works or fails with a clear reason`, {
      skip: kind === "native" && !nativeAvailable,
    }, () => {
      const shm = getShmBackend(kind);
      const name = res.name("large");
      if (size > freeBytes(kind)) {
        assert.throws(
          () => shm.createSegment(name, size),
          (e: unknown) =>
            e instanceof ShmError && e.code === "ENOSPC" && e.message.includes(`needs ${size} bytes`),
        );
        return;
      }
      if (kind === "native" && size > constants.MAX_LENGTH) {
        assert.throws(
          () => shm.createSegment(name, size),
          (e: unknown) =>
            e instanceof ShmError &&
            e.code === "ERANGE" &&
            e.message.includes(name) &&
            e.message.includes(`${size} bytes`) &&
            /MAX_LENGTH/.test(e.message),
        );
        assert.ok(!shm.listSegments(name).includes(name), "a refused segment is unlinked again");
        return;
      }
      const seg = shm.createSegment(name, size);
      assert.equal(seg.size, size);
      // Touch the first page, a page past 4 GiB if any, and the very last byte.
      seg.write(0, new Uint8Array([1]));
      seg.write(size - 1, new Uint8Array([2]));
      if (size > 4 * GiB) seg.write(4 * GiB + 1, new Uint8Array([3]));
      const other = shm.openSegment(name);
      assert.equal(other.size, size);
      assert.deepEqual(other.read(size - 2, 2), new Uint8Array([0, 2]));
      assert.deepEqual(other.read(0, 1), new Uint8Array([1]));
      if (size > 4 * GiB) assert.deepEqual(other.read(4 * GiB, 2), new Uint8Array([0, 3]));
      other.close();
      seg.close();
    });
  }
}
