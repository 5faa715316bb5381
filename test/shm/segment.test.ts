// Behaviour every shared-memory backend must show, run once per available backend
// in this process: create/open/read/write, unlink, listing, errors, close, pretouch.
import assert from "node:assert/strict";
import { readFileSync, statfsSync } from "node:fs";
import { afterEach, describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  getShmBackend,
  JsShmBackend,
  type ShmBackend,
  type ShmBackendKind,
  ShmError,
  shmBackendInfo,
} from "../../src/shm/index.js";
import { pollUntil, Resources } from "./fixtures/helpers.js";

const nativeAvailable = (() => {
  try {
    getShmBackend("native");
    return true;
  } catch {
    return false;
  }
})();

test("the native addon is built and chosen by default in this checkout", (t) => {
  if (!nativeAvailable && process.env.TSRAY_SHM_BACKEND === undefined) {
    // Report loudly rather than pass quietly: the fallback is still tested below.
    t.diagnostic(`native addon unavailable: ${shmBackendInfo().reason}`);
  }
  const info = shmBackendInfo();
  if (process.env.TSRAY_SHM_BACKEND === undefined) {
    assert.equal(info.kind, nativeAvailable ? "native" : "js-fallback");
  }
});

// Where the addon is built, backend-choice.test.ts covers this in a child process
// whose TSRAY_SHM_ADDON points at a missing file.
if (!nativeAvailable) {
  test('getShmBackend("native") explains why the addon is unavailable', () => {
    assert.throws(() => getShmBackend("native"), { code: "ERR_SHM_NATIVE_UNAVAILABLE" });
  });
}

const kinds: ShmBackendKind[] = nativeAvailable ? ["native", "js-fallback"] : ["js-fallback"];

for (const kind of kinds) {
  describe(`shm backend: ${kind}`, () => {
    const shm: ShmBackend = getShmBackend(kind);
    const res = new Resources();
    afterEach(() => res.cleanup());

    test("reports its kind and zero-copy ability", () => {
      const seg = shm.createSegment(res.name(), 4096);
      assert.equal(shm.kind, kind);
      assert.equal(seg.zeroCopy, kind === "native");
      assert.equal(typeof seg.view, kind === "native" ? "function" : "undefined");
      seg.close();
    });

    test("a new segment is zero-filled and round-trips writes", () => {
      const name = res.name();
      const seg = shm.createSegment(name, 10_000);
      assert.equal(seg.name, name);
      assert.equal(seg.size, 10_000);
      assert.deepEqual(seg.read(0, 16), new Uint8Array(16));
      seg.write(100, new Uint8Array([1, 2, 3, 4]));
      assert.deepEqual(seg.read(99, 6), new Uint8Array([0, 1, 2, 3, 4, 0]));
      // Any ArrayBufferView, honouring its byteOffset.
      const f64 = new Float64Array([1.5, -2.25, 3]);
      seg.write(1000, f64.subarray(1));
      const back = seg.read(1000, 16);
      assert.deepEqual(
        new Float64Array(back.buffer.slice(back.byteOffset, back.byteOffset + 16)),
        new Float64Array([-2.25, 3]),
      );
      // The last byte is addressable.
      seg.write(9_999, new Uint8Array([0xff]));
      assert.deepEqual(seg.read(9_999, 1), new Uint8Array([0xff]));
      seg.close();
    });

    test("a second open of the same name sees the same bytes", () => {
      const name = res.name();
      const a = shm.createSegment(name, 8192);
      const b = shm.openSegment(name);
      assert.equal(b.size, 8192);
      a.write(4000, new Uint8Array([9, 8, 7]));
      assert.deepEqual(b.read(4000, 3), new Uint8Array([9, 8, 7]));
      b.write(0, new Uint8Array([42]));
      assert.deepEqual(a.read(0, 1), new Uint8Array([42]));
      a.close();
      b.close();
    });

    test("read is a live view for native and a private copy for the fallback", () => {
      const seg = shm.createSegment(res.name(), 4096);
      const before = seg.read(0, 4);
      seg.write(0, new Uint8Array([5, 6, 7, 8]));
      if (kind === "native") {
        assert.deepEqual(before, new Uint8Array([5, 6, 7, 8]));
        before[0] = 1;
        assert.equal(seg.read(0, 1)[0], 1);
      } else {
        assert.deepEqual(before, new Uint8Array(4));
        const copy = seg.read(0, 4);
        copy[0] = 1;
        assert.equal(seg.read(0, 1)[0], 5);
      }
      seg.close();
    });

    test("out-of-range access throws RangeError naming the segment", () => {
      const name = res.name();
      const seg = shm.createSegment(name, 100);
      assert.throws(
        () => seg.read(90, 11),
        (e: Error) => e instanceof RangeError && e.message.includes(name),
      );
      assert.throws(() => seg.write(99, new Uint8Array(2)), RangeError);
      assert.throws(() => seg.read(-1, 1), TypeError);
      assert.throws(() => seg.read(0.5, 1), TypeError);
      assert.deepEqual(seg.read(100, 0), new Uint8Array(0));
      seg.close();
    });

    test("creating an existing name fails with EEXIST", () => {
      const name = res.name();
      const seg = shm.createSegment(name, 4096);
      seg.write(0, new Uint8Array([77]));
      assert.throws(
        () => shm.createSegment(name, 4096),
        (e: unknown) => {
          assert.ok(e instanceof ShmError);
          assert.equal(e.code, "EEXIST");
          assert.equal(e.segment, name);
          assert.equal(e.errno, -17);
          assert.match(
            e.message,
            /^EEXIST: \w+ failed for shared-memory segment "\/tsray-[^"]+": (File|file already) exists$/,
          );
          assert.ok(e.message.includes(name));
          return true;
        },
      );
      // The failed create left the original alone.
      assert.deepEqual(shm.openSegment(name).read(0, 1), new Uint8Array([77]));
      seg.close();
    });

    test("opening a missing name fails with ENOENT", () => {
      const name = res.name("missing");
      assert.throws(
        () => shm.openSegment(name),
        (e: unknown) => e instanceof ShmError && e.code === "ENOENT" && e.message.includes(name),
      );
    });

    test("unlink removes the name; existing mappings keep working", () => {
      const name = res.name();
      const seg = shm.createSegment(name, 4096);
      seg.write(10, new Uint8Array([3]));
      assert.ok(shm.listSegments(name).includes(name));
      assert.equal(shm.unlinkSegment(name), true);
      assert.equal(shm.unlinkSegment(name), false, "ENOENT is not an error");
      assert.ok(!shm.listSegments(name).includes(name));
      assert.throws(() => shm.openSegment(name), { code: "ENOENT" });
      seg.write(11, new Uint8Array([4]));
      assert.deepEqual(seg.read(10, 2), new Uint8Array([3, 4]));
      // The name is free again.
      shm.createSegment(name, 4096).close();
      seg.close();
    });

    test("listSegments filters by prefix and returns sorted names", () => {
      const names = [res.name("lista"), res.name("lista"), res.name("listb")];
      for (const n of names) shm.createSegment(n, 4096).close();
      const prefix = `/tsray-${process.pid}-list`;
      assert.deepEqual(shm.listSegments(prefix), [...names].sort());
      assert.deepEqual(shm.listSegments(`/tsray-${process.pid}-lista`), names.slice(0, 2).sort());
      assert.ok(shm.listSegments().includes(names[0]), "default prefix is /tsray-");
      assert.deepEqual(shm.listSegments("/no-such-prefix-"), []);
    });

    test("bad names and sizes are TypeErrors", () => {
      for (const bad of ["", "/", "no-slash", "/a/b", "/.", `/${"x".repeat(300)}`]) {
        assert.throws(() => shm.createSegment(bad, 4096), TypeError, `name ${JSON.stringify(bad)}`);
        assert.throws(() => shm.openSegment(bad), TypeError);
        assert.throws(() => shm.unlinkSegment(bad), TypeError);
      }
      for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
        assert.throws(() => shm.createSegment(res.name(), bad), TypeError, `size ${bad}`);
      }
    });

    test("a segment larger than /dev/shm can hold fails with a clear ENOSPC", () => {
      const name = res.name();
      const dir = shm instanceof JsShmBackend ? shm.directory : "/dev/shm";
      const fs = statfsSync(dir);
      const tooBig = fs.blocks * fs.bsize * 2 + 4096;
      assert.throws(
        () => shm.createSegment(name, tooBig),
        (e: unknown) =>
          e instanceof ShmError &&
          e.code === "ENOSPC" &&
          e.message.includes(name) &&
          e.message.includes(String(tooBig)) &&
          /bytes free/.test(e.message),
      );
      assert.ok(!shm.listSegments(name).includes(name), "nothing is left behind");
    });

    test("close releases the mapping; later access throws; close is idempotent", async () => {
      const name = res.name();
      const seg = shm.createSegment(name, 1 << 20);
      const view = seg.read(0, 8);
      seg.close();
      assert.equal(seg.closed, true);
      seg.close();
      assert.throws(() => seg.read(0, 1), { code: "ERR_SHM_CLOSED" });
      assert.throws(() => seg.write(0, new Uint8Array(1)), { code: "ERR_SHM_CLOSED" });
      if (kind === "native") {
        assert.equal(view.length, 0, "views over a closed native segment are detached, not dangling");
        const file = `/dev/shm${name}`;
        const unmapped = await pollUntil(() => !readFileSync("/proc/self/maps", "utf8").includes(file), 5000);
        assert.ok(unmapped, `${file} is still mapped 5 s after close`);
      }
      // The segment itself survives until unlinked.
      const again = shm.openSegment(name);
      assert.equal(again.size, 1 << 20);
      again.close();
    });

    // Only native segments are mappings (the fallback holds a file descriptor).
    const nativeOnly = kind === "native" ? test : () => undefined;
    nativeOnly("a segment dropped without close is unmapped by the GC finalizer", async () => {
      setFlagsFromString("--expose-gc");
      const gc = runInNewContext("gc") as () => void;
      const name = res.name("gc");
      const file = `/dev/shm${name}`;
      (() => {
        const seg = shm.createSegment(name, 1 << 20);
        seg.write(0, new Uint8Array([1]));
      })();
      assert.ok(readFileSync("/proc/self/maps", "utf8").includes(file));
      const unmapped = await pollUntil(() => {
        gc();
        return !readFileSync("/proc/self/maps", "utf8").includes(file);
      }, 10_000);
      assert.ok(unmapped, `${file} is still mapped after repeated GCs`);
    });

    test("pretouch keeps the data and rejects ranges outside the segment", async () => {
      const seg = shm.createSegment(res.name(), 4 << 20);
      seg.write(123_456, new Uint8Array([1, 2, 3]));
      await seg.pretouch();
      await seg.pretouch(4096, 8192);
      assert.deepEqual(seg.read(123_456, 3), new Uint8Array([1, 2, 3]));
      await assert.rejects(seg.pretouch(0, (4 << 20) + 1), RangeError);
      // Closing while a pretouch runs must not crash: the unmap waits for it.
      const running = seg.pretouch();
      seg.close();
      await running;
    });

    test("reserve: true allocates the pages up front", () => {
      const seg = shm.createSegment(res.name(), 1 << 20, { reserve: true });
      assert.deepEqual(seg.read((1 << 20) - 4, 4), new Uint8Array(4));
      seg.close();
    });
  });
}
