// schedulingStrategy and labelSelector on remote functions and actor classes: checked
// at the call site (remote(opts, fn), .options()), every mistake a TypeError naming the
// option, the value and what is valid. No cluster needed: nothing is submitted.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { Counter, square } from "../fixtures/actors.js";

/** Matcher: a TypeError whose message matches every pattern. */
function typeError(...patterns: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

const VALID = /"DEFAULT", "SPREAD" or a node affinity \{ nodeId: string, soft\?: boolean \}/;

describe("schedulingStrategy", () => {
  test("good values are accepted by .options() on functions and actor classes", () => {
    for (const s of ["DEFAULT", "SPREAD", { nodeId: "abc" }, { nodeId: "abc", soft: true }] as const) {
      assert.equal(typeof square.options({ schedulingStrategy: s }).remote, "function");
      assert.equal(typeof Counter.options({ schedulingStrategy: s }).remote, "function");
    }
  });

  test("a wrong string names the option, the value and the valid ones (with a case hint)", () => {
    const bad = (v: unknown) => ({ schedulingStrategy: v }) as ray.TaskOptions;
    assert.throws(
      () => square.options(bad("spread")),
      typeError(/options\(\): schedulingStrategy must be/, VALID, /got "spread"/, /did you mean "SPREAD"/),
    );
    assert.throws(() => square.options(bad("PACK")), typeError(/schedulingStrategy/, VALID, /got "PACK"/));
    assert.throws(() => square.options(bad(3)), typeError(/schedulingStrategy/, VALID, /got 3/));
  });

  test("a bad node affinity names the field", () => {
    const bad = (v: unknown) => ({ schedulingStrategy: v }) as ray.TaskOptions;
    assert.throws(
      () => square.options(bad({ nodeId: "" })),
      typeError(/schedulingStrategy\.nodeId must be a non-empty string/),
    );
    assert.throws(
      () => square.options(bad({ nodeId: "n", soft: "yes" })),
      typeError(/schedulingStrategy\.soft must be true or false/),
    );
    assert.throws(
      () => square.options(bad({ node: "n" })),
      typeError(/unknown field "node"; a node affinity has nodeId and soft/),
    );
  });

  test("remote(options, fn) and actor classes check it too, naming the call", () => {
    assert.throws(
      () => ray.remote({ schedulingStrategy: "RANDOM" } as unknown as ray.TaskOptions, (x: number) => x),
      typeError(/remote\(\) options: schedulingStrategy/, VALID),
    );
    assert.throws(
      () => Counter.options({ schedulingStrategy: { nodeId: 7 } } as unknown as ray.ActorOptions),
      typeError(/Counter\.options\(\): schedulingStrategy\.nodeId/, /got 7/),
    );
  });
});

describe("labelSelector", () => {
  test("good selectors are accepted", () => {
    const sel = { zone: "a", disk: "ssd|nvme", gpu: "!none" };
    assert.equal(typeof square.options({ labelSelector: sel }).remote, "function");
    assert.equal(typeof Counter.options({ labelSelector: sel }).remote, "function");
  });

  test("bad selectors name the option or entry and the valid forms", () => {
    const bad = (v: unknown) => ({ labelSelector: v }) as ray.TaskOptions;
    assert.throws(
      () => square.options(bad("zone=a")),
      typeError(/labelSelector must be a plain object/, /"a\|b"/),
    );
    assert.throws(
      () => square.options(bad({ zone: 1 })),
      typeError(/labelSelector\["zone"\] must be a string/, /got 1/),
    );
    assert.throws(
      () => square.options(bad({ zone: "a|" })),
      typeError(/labelSelector\["zone"\]/, /non-empty values/),
    );
    assert.throws(
      () => Counter.options({ labelSelector: { zone: "a!b|!c" } }),
      typeError(/Counter\.options\(\): labelSelector\["zone"\]/),
    );
  });

  test("the options are listed among the valid ones when a key is unknown", () => {
    assert.throws(
      () => square.options({ strategy: "SPREAD" } as unknown as ray.TaskOptions),
      typeError(/unknown option "strategy"/, /schedulingStrategy/, /labelSelector/),
    );
  });
});
