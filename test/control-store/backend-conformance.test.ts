// One conformance suite over the control store's storage backends (issue 11, point 1):
// the memory backend and the Redis backend against a real redis-server, started here
// on a free loopback port with its own data directory and stopped by pid.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  MemoryBackend,
  parseRedisUrl,
  RedisBackend,
  type StorageBackend,
} from "../../src/control-store/index.js";
import { RuntimeUnavailableError } from "../../src/errors/index.js";
import { type RedisServer, redisSkip, startRedis } from "../helpers/redis.js";
import { removeTempDirs } from "../helpers/temp.js";

const skip = redisSkip();
let redis: RedisServer | undefined;
let tableSeq = 0;

after(async () => {
  await redis?.stop();
  removeTempDirs();
});

const backends: Array<[string, () => Promise<StorageBackend>, string | undefined]> = [
  ["memory", async () => new MemoryBackend(), undefined],
  [
    "redis",
    async () => {
      redis ??= await startRedis();
      return RedisBackend.connect(redis.url, { prefix: `conf${process.pid}` });
    },
    skip,
  ],
];

for (const [name, make, skipWhy] of backends) {
  describe(`storage backend conformance: ${name}`, { skip: skipWhy }, () => {
    let b: StorageBackend;
    // Each test its own table: the Redis database outlives a test.
    const table = () => `t${++tableSeq}`;
    before(async () => {
      b = await make();
    });
    after(async () => b?.close());

    test("a missing key reads as undefined; a table never written has no keys", async () => {
      const t = table();
      assert.equal(await b.get(t, "nope"), undefined);
      assert.deepEqual(await b.keys(t), []);
    });

    test("bytes come back exactly, including zeros and a 1 MiB value", async () => {
      const t = table();
      const v = new Uint8Array(1 << 20);
      for (let i = 0; i < v.length; i++) v[i] = (i * 31) & 0xff;
      assert.equal(await b.put(t, "big", v, true), true);
      assert.equal(await b.put(t, "zeros", new Uint8Array([0, 0, 1, 0]), true), true);
      assert.deepEqual([...(await b.get(t, "zeros"))!], [0, 0, 1, 0]);
      assert.equal(Buffer.compare(Buffer.from((await b.get(t, "big"))!), Buffer.from(v)), 0);
    });

    test("put without overwrite keeps the first value and says so; with overwrite replaces it", async () => {
      const t = table();
      assert.equal(await b.put(t, "k", new Uint8Array([1]), false), true);
      assert.equal(await b.put(t, "k", new Uint8Array([2]), false), false);
      assert.deepEqual([...(await b.get(t, "k"))!], [1]);
      assert.equal(await b.put(t, "k", new Uint8Array([3]), true), true);
      assert.deepEqual([...(await b.get(t, "k"))!], [3]);
    });

    test("delete says whether the key existed; keys lists a table's keys; tables are separate", async () => {
      const t = table();
      const u = table();
      await b.put(t, "a", new Uint8Array([1]), true);
      await b.put(t, "b", new Uint8Array([2]), true);
      await b.put(u, "a", new Uint8Array([9]), true);
      assert.deepEqual((await b.keys(t)).sort(), ["a", "b"]);
      assert.equal(await b.delete(t, "a"), true);
      assert.equal(await b.delete(t, "a"), false);
      assert.deepEqual(await b.keys(t), ["b"]);
      assert.deepEqual([...(await b.get(u, "a"))!], [9], "the other table is untouched");
    });

    test("concurrent puts without overwrite of one key: exactly one wins", async () => {
      const t = table();
      const wins = await Promise.all(
        Array.from({ length: 20 }, (_, i) => b.put(t, "race", new Uint8Array([i]), false)),
      );
      assert.equal(wins.filter(Boolean).length, 1);
    });
  });
}

describe("Redis backend: durability and bad input", { skip }, () => {
  test("what one client wrote is read by a new one, and survives a redis-server restart on its data dir", async () => {
    redis ??= await startRedis();
    const prefix = `dur${process.pid}`;
    const one = await RedisBackend.connect(redis.url, { prefix });
    await one.put("nodes", "n1", new Uint8Array([7, 7]), true);
    await one.close();
    const dir = redis.dir;
    await redis.stop(); // SIGKILL: only the append-only file remains
    redis = await startRedis(dir);
    const two = await RedisBackend.connect(redis.url, { prefix });
    try {
      assert.deepEqual([...(await two.get("nodes", "n1"))!], [7, 7]);
    } finally {
      await two.close();
    }
  });

  test("a bad URL is refused at once, naming it and what is valid", () => {
    for (const bad of ["", "http://x:1", "redis://", "redis://h:1/abc", "nonsense"]) {
      assert.throws(
        () => parseRedisUrl(bad),
        (err: Error) => {
          assert.ok(err instanceof TypeError);
          assert.match(err.message, /is not a Redis URL .*expected redis:\/\/host:port\[\/db\]/);
          return true;
        },
      );
    }
    assert.equal(parseRedisUrl("rediss://:pw@h:6380/2").port, "6380");
  });

  test("an unreachable Redis fails within its timeout with RuntimeUnavailableError, password hidden", async () => {
    const t0 = Date.now();
    await assert.rejects(
      RedisBackend.connect("redis://:secretpw@127.0.0.1:1/0", { connectTimeoutMs: 1_000 }),
      (err: Error) => {
        assert.ok(err instanceof RuntimeUnavailableError, String(err));
        assert.match(err.message, /cannot reach the Redis store at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0/);
        assert.doesNotMatch(err.message, /secretpw/);
        return true;
      },
    );
    assert.ok(Date.now() - t0 < 5_000, `took ${Date.now() - t0} ms`);
  });
});
