// Bad input at the API boundary: every mistake is a TypeError (or a clear RayError)
// that names the option or value and what is valid.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { square } from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";

const TASK_KEYS = [
  "numCpus",
  "numGpus",
  "resources",
  "memory",
  "maxRetries",
  "retryExceptions",
  "numReturns",
  "name",
];

/** Matcher: a TypeError whose message matches every pattern. */
function typeError(...patterns: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

function listsValidKeys(message: string, keys: readonly string[]) {
  for (const k of keys) assert.ok(message.includes(k), `the message does not list "${k}": ${message}`);
}

describe("before init", () => {
  test("isInitialized() is false", () => {
    assert.equal(ray.isInitialized(), false);
  });

  test(".remote() before init throws a clear error saying to call init", () => {
    assert.throws(
      () => square.remote(2),
      (err: Error) => {
        assert.ok(err instanceof ray.RayError, `got ${err.constructor.name}`);
        assert.equal((err as ray.RayError).code, "RUNTIME_UNAVAILABLE");
        assert.match(err.message, /not initialized/);
        assert.match(err.message, /init\(\)/);
        return true;
      },
    );
  });

  test("get and put before init fail clearly", async () => {
    assert.throws(() => ray.put(1), /not initialized/);
    await assert.rejects(
      async () => ray.get(undefined as unknown as ray.ObjectRef<number>),
      /not initialized|ObjectRef/,
    );
  });

  test("remote(42) and other non-functions are TypeErrors", () => {
    for (const bad of [42, "fn", null, undefined, { remote: 1 }]) {
      assert.throws(() => ray.remote(bad as unknown as () => void), typeError(/expects a function/));
    }
    assert.throws(() => ray.remote({}, 42 as unknown as () => void), typeError(/function/));
  });

  test("remote(options, fn) with options that are not an object is a TypeError", () => {
    assert.throws(
      () => ray.remote(5 as unknown as ray.TaskOptions, (x: number) => x),
      typeError(/options must be an object/),
    );
  });

  test("an unknown key in remote() options is a TypeError naming it and listing the valid keys", () => {
    assert.throws(
      () => ray.remote({ numCPUs: 1 } as unknown as ray.TaskOptions, (x: number) => x),
      (err: Error) => {
        typeError(/"numCPUs"/)(err);
        listsValidKeys(err.message, TASK_KEYS);
        return true;
      },
    );
  });

  test("an unknown key in .options() is a TypeError naming it and listing the valid keys", () => {
    assert.throws(
      () => square.options({ retries: 2 } as unknown as ray.TaskOptions),
      (err: Error) => {
        typeError(/"retries"/)(err);
        listsValidKeys(err.message, TASK_KEYS);
        return true;
      },
    );
  });

  test("invalid option values name the option, the value and what is valid", () => {
    const NON_NEGATIVE = /must be a finite number >= 0/;
    const cases: Array<[ray.TaskOptions, ...RegExp[]]> = [
      [{ numCpus: -1 }, /numCpus/, NON_NEGATIVE, /got -1/],
      [{ numCpus: "2" as unknown as number }, /numCpus/, NON_NEGATIVE, /got "2"/],
      [{ numCpus: Number.NaN }, /numCpus/, NON_NEGATIVE, /got NaN/],
      [{ numGpus: -0.5 }, /numGpus/, NON_NEGATIVE, /got -0\.5/],
      [{ memory: -1 }, /memory/, NON_NEGATIVE, /got -1/],
      [{ maxRetries: 1.5 }, /maxRetries/, /must be an integer >= -1/, /got 1\.5/],
      [{ maxRetries: -2 }, /maxRetries/, /must be an integer >= -1/, /got -2/],
      [{ numReturns: 0 }, /numReturns/, /must be an integer from 1 to \d+/, /got 0/],
      [{ numReturns: 2.5 }, /numReturns/, /must be an integer from 1 to \d+/, /got 2\.5/],
      [{ resources: { custom: -1 } }, /resources\["custom"\]/, NON_NEGATIVE, /got -1/],
      [{ resources: [] as unknown as Record<string, number> }, /resources/, /plain object/, /got an array/],
      [
        { retryExceptions: "yes" as unknown as boolean },
        /retryExceptions/,
        /a boolean or an array of error class names/,
        /got "yes"/,
      ],
      [{ name: "" }, /name/, /non-empty string/, /got ""/],
    ];
    for (const [opts, ...patterns] of cases) {
      assert.throws(() => square.options(opts), typeError(...patterns), `options ${JSON.stringify(opts)}`);
      assert.throws(
        () => ray.remote(opts, (x: number) => x),
        typeError(...patterns),
        `remote ${JSON.stringify(opts)}`,
      );
    }
  });

  test("calling a remote function directly is a TypeError pointing to .remote", () => {
    assert.throws(() => (square as unknown as (x: number) => number)(2), typeError(/\.remote/));
  });

  test("init with an unknown key is a TypeError naming it and listing the valid keys", async () => {
    await assert.rejects(ray.init({ numCPUs: 2 } as unknown as ray.InitOptions), (err: Error) => {
      typeError(/"numCPUs"/)(err);
      listsValidKeys(err.message, ["numCpus", "numGpus", "resources", "address", "namespace"]);
      return true;
    });
    assert.equal(ray.isInitialized(), false);
  });

  test("init with a negative or non-numeric numCpus is a TypeError naming numCpus and the valid range", async () => {
    for (const numCpus of [-1, "4", Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(
        ray.init({ numCpus: numCpus as number }),
        typeError(/numCpus/, /must be a finite number >= 0/, /got /),
        `numCpus ${String(numCpus)}`,
      );
    }
    await assert.rejects(
      ray.init({ numGpus: -1 }),
      typeError(/numGpus/, /must be a finite number >= 0/, /got -1/),
    );
    await assert.rejects(
      ray.init({ resources: { custom: -3 } }),
      typeError(/resources\["custom"\]/, /must be a finite number >= 0/, /got -3/),
    );
    await assert.rejects(
      ray.init({ namespace: 5 as unknown as string }),
      typeError(/namespace/, /non-empty string/, /got 5/),
    );
    assert.equal(ray.isInitialized(), false);
  });
});

describe("with a cluster", () => {
  useCluster({ numCpus: 2, logToDriver: false });

  test("init twice is an error that says so", async () => {
    await assert.rejects(ray.init({ numCpus: 1 }), (err: Error) => {
      assert.ok(err instanceof ray.RayError, `got ${err.constructor.name}`);
      assert.match(err.message, /already initialized/);
      return true;
    });
    assert.equal(ray.isInitialized(), true);
    assert.equal(await ray.get(square.remote(3)), 9, "the first cluster still works");
  });

  test("get(42) and get([ref, 42]) are TypeErrors", async () => {
    await assert.rejects(async () => ray.get(42 as unknown as ray.ObjectRef<number>), typeError(/ObjectRef/));
    const ref = square.remote(2);
    await assert.rejects(
      async () => ray.get([ref, 42 as unknown as ray.ObjectRef<number>]),
      typeError(/element 1/, /ObjectRef/),
    );
    await assert.rejects(async () => ray.get({ id: "x" } as unknown as ray.ObjectRef<number>), TypeError);
    assert.equal(await ray.get(ref), 4);
  });

  test("a bad get timeout is a TypeError", async () => {
    const ref = square.remote(2);
    await assert.rejects(
      async () => ray.get(ref, { timeout: -5 }),
      typeError(/timeout/, /milliseconds >= 0/, /got -5/),
    );
    await assert.rejects(
      async () => ray.get(ref, { timeout: "1s" as unknown as number }),
      typeError(/timeout/, /milliseconds >= 0/, /got "1s"/),
    );
  });

  test("wait with numReturns > refs.length is a TypeError; so is numReturns 0", async () => {
    const refs = [square.remote(1), square.remote(2)];
    await assert.rejects(ray.wait(refs, { numReturns: 3 }), typeError(/numReturns/, /from 1 to 2/, /got 3/));
    await assert.rejects(ray.wait(refs, { numReturns: 0 }), typeError(/numReturns/, /from 1 to 2/, /got 0/));
  });

  test("put of an ObjectRef is a TypeError", () => {
    assert.throws(() => ray.put(square.remote(1)), typeError(/ObjectRef/));
  });
});
