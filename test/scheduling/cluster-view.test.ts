// Checks on user-supplied scheduling strategies and label selectors: what is accepted
// and normalized, and that each refusal names the call, the option, the value and what is valid.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateLabelSelector, validateSchedulingStrategy } from "../../src/scheduling/index.js";

describe("validateSchedulingStrategy", () => {
  it("accepts DEFAULT, SPREAD and node affinities, normalized", () => {
    assert.equal(validateSchedulingStrategy(undefined), "DEFAULT");
    assert.equal(validateSchedulingStrategy("DEFAULT"), "DEFAULT");
    assert.equal(validateSchedulingStrategy("SPREAD"), "SPREAD");
    const hard = validateSchedulingStrategy({ nodeId: "n1" });
    assert.deepEqual(hard, { nodeId: "n1", soft: false });
    assert.ok(Object.isFrozen(hard));
    assert.deepEqual(validateSchedulingStrategy({ nodeId: "n1", soft: true }), { nodeId: "n1", soft: true });
  });

  it("refuses other strings, hinting at the upper-case name", () => {
    assert.throws(() => validateSchedulingStrategy("spread", "remote() options"), {
      name: "TypeError",
      message:
        'remote() options: schedulingStrategy must be "DEFAULT", "SPREAD" or a node affinity ' +
        '{ nodeId: string, soft?: boolean }, got "spread" (a string) (did you mean "SPREAD"?)',
    });
    assert.throws(() => validateSchedulingStrategy("PACK"), /got "PACK" \(a string\)$/);
  });

  it("refuses non-objects and bad affinity fields, naming the field", () => {
    assert.throws(() => validateSchedulingStrategy(3), /options: schedulingStrategy must be .*, got 3$/);
    assert.throws(() => validateSchedulingStrategy(["n1"]), /got an array$/);
    assert.throws(() => validateSchedulingStrategy(new Map()), /got a Map$/);
    assert.throws(
      () => validateSchedulingStrategy({ nodeId: "" }),
      /schedulingStrategy\.nodeId must be a non-empty string \(the node's id\), got ""/,
    );
    assert.throws(() => validateSchedulingStrategy({ nodeId: 7 }), /nodeId must be .*, got 7$/);
    assert.throws(
      () => validateSchedulingStrategy({ nodeId: "n1", soft: "yes" }),
      /schedulingStrategy\.soft must be true or false \(default false\), got "yes" \(a string\)/,
    );
    assert.throws(
      () => validateSchedulingStrategy({ nodeId: "n1", hard: true }),
      /schedulingStrategy has an unknown field "hard"; a node affinity has nodeId and soft/,
    );
  });
});

describe("validateLabelSelector", () => {
  it("accepts exact, not, in and not-in values and returns a frozen copy", () => {
    const input = { zone: "us", disk: "!hdd", gpu: "a100|h100", region: "!eu|ap" };
    const out = validateLabelSelector(input);
    assert.deepEqual(out, input);
    assert.notEqual(out, input);
    assert.ok(Object.isFrozen(out));
    assert.deepEqual(validateLabelSelector(undefined), {});
  });

  it("refuses what it cannot read, naming the entry", () => {
    assert.throws(() => validateLabelSelector("zone=us", "remote() options"), {
      name: "TypeError",
      message:
        /^remote\(\) options: labelSelector must be a plain object of label -> value .*, got "zone=us"/,
    });
    assert.throws(
      () => validateLabelSelector({ zone: 1 }),
      /labelSelector\["zone"\] must be a string .*, got 1$/,
    );
    assert.throws(
      () => validateLabelSelector({ "": "x" }),
      /labelSelector keys must be non-empty label names/,
    );
    for (const bad of ["", "!", "a||b", "a|!b", "!!a", "a|"]) {
      assert.throws(
        () => validateLabelSelector({ zone: bad }),
        new RegExp(
          `labelSelector\\["zone"\\] must be .* non-empty values .*, got ${JSON.stringify(bad).replace(/[|]/g, "\\|")}$`,
        ),
        bad,
      );
    }
  });
});
