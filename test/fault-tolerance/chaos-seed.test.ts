// The chaos workload's randomness comes from one seed (issue 9, point 7): the same
// TSRAY_CHAOS_SEED gives the same choices, a bad value is refused naming it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { chaosSeed, seededRandom } from "../fixtures/ft-chaos-run.js";

test("the same seed draws the same sequence; another seed draws another", () => {
  const draw = (seed: number) => {
    const r = seededRandom(seed);
    return Array.from({ length: 64 }, () => r());
  };
  assert.deepEqual(draw(12345), draw(12345));
  assert.notDeepEqual(draw(12345), draw(12346));
  for (const x of draw(7)) assert.ok(x >= 0 && x < 1, `draw ${x} is in [0, 1)`);
});

test("TSRAY_CHAOS_SEED replays a seed; unset draws a fresh one; a bad value is refused by name", () => {
  assert.equal(chaosSeed({ TSRAY_CHAOS_SEED: "4242" }), 4242);
  const fresh = chaosSeed({});
  assert.ok(Number.isInteger(fresh) && fresh >= 0 && fresh < 2 ** 32);
  for (const bad of ["-1", "1.5", "abc", "4294967296"]) {
    assert.throws(
      () => chaosSeed({ TSRAY_CHAOS_SEED: bad }),
      (err: Error) => {
        assert.ok(err instanceof TypeError);
        assert.match(err.message, /TSRAY_CHAOS_SEED must be a whole number/);
        assert.ok(err.message.includes(JSON.stringify(bad)));
        return true;
      },
    );
  }
});
