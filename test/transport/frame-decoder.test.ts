// FrameDecoder on its own: frames split across chunks, many frames in one chunk,
// and the protocol violations (empty, oversized) that make it throw.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FrameDecoder } from "../../src/transport/index.js";
import { frame } from "./helpers.js";

function collect(maxFrameBytes = 1 << 20): { decoder: FrameDecoder; bodies: string[] } {
  const bodies: string[] = [];
  const decoder = new FrameDecoder((body) => bodies.push(body.toString("latin1")), maxFrameBytes);
  return { decoder, bodies };
}

const bodies = ["a", "hello frame", "x".repeat(1000), "\u0000\u0001\u00ff"];
const stream = Buffer.concat(bodies.map((b) => frame(Buffer.from(b, "latin1"))));

describe("FrameDecoder", () => {
  test("a frame split across chunks (header split too) comes out whole, once", () => {
    for (const size of [1, 2, 3, 5, 7, 64, 999]) {
      const { decoder, bodies: got } = collect();
      for (let off = 0; off < stream.length; off += size) decoder.push(stream.subarray(off, off + size));
      assert.deepEqual(got, bodies, `chunks of ${size} bytes`);
    }
  });

  test("several frames in one chunk all come out, in order, plus a trailing partial one later", () => {
    const { decoder, bodies: got } = collect();
    const partial = frame(Buffer.from("tail"));
    decoder.push(Buffer.concat([stream, partial.subarray(0, 6)]));
    assert.deepEqual(got, bodies);
    decoder.push(partial.subarray(6));
    assert.deepEqual(got, [...bodies, "tail"]);
  });

  test("frames inside one chunk are views into it, not copies", () => {
    const views: Buffer[] = [];
    const decoder = new FrameDecoder((body) => views.push(body), 1024);
    decoder.push(stream);
    assert.equal(views.length, bodies.length);
    for (const v of views) assert.equal(v.buffer, stream.buffer);
  });

  test("a zero-length frame throws", () => {
    const { decoder, bodies: got } = collect();
    assert.throws(() => decoder.push(Buffer.concat([frame(Buffer.from("ok")), frame(Buffer.alloc(0))])), {
      name: "RangeError",
      message: /frame of 0 bytes/,
    });
    assert.deepEqual(got, ["ok"], "the frame before the bad one was delivered");
  });

  test("an oversized frame throws on its header alone, whether the header arrives whole or split", () => {
    const head = Buffer.alloc(4);
    head.writeUInt32LE(101, 0);
    const whole = collect(100);
    assert.throws(() => whole.decoder.push(head), {
      name: "RangeError",
      message: /frame of 101 bytes exceeds the limit of 100 bytes/,
    });
    const split = collect(100);
    split.decoder.push(head.subarray(0, 1));
    split.decoder.push(head.subarray(1, 3));
    assert.throws(
      () => split.decoder.push(head.subarray(3)),
      /frame of 101 bytes exceeds the limit of 100 bytes/,
    );
    assert.deepEqual(whole.bodies, []);
    assert.deepEqual(split.bodies, []);
  });

  test("a frame of exactly the limit is accepted", () => {
    const { decoder, bodies: got } = collect(100);
    decoder.push(frame(Buffer.alloc(100, 0x61)));
    assert.deepEqual(got, ["a".repeat(100)]);
  });
});
