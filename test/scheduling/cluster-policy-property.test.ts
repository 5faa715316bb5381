// Seeded property test of the cluster placement policy over random views and requests:
// every local/spill decision names a live, not draining, label-matching node that has
// room; wait and infeasible come exactly when no candidate has room or could ever fit;
// DEFAULT keeps the local node under the threshold and otherwise takes a least utilized
// node; the same inputs and seed give the same decision whatever the view order.
// The seed is printed; TSRAY_POLICY_SEED=<n> replays a run.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type ChooseOptions,
  chooseNode,
  type NodeView,
  type PlacementRequest,
  type ResourceMap,
  type SchedulingStrategy,
  utilizationAfter,
} from "../../src/scheduling/index.js";
import { seededRandom } from "../../src/util/index.js";
import { chosen, policySeed } from "./cluster-helpers.js";

const SEED = policySeed();
const CASES = 3000;
console.log(`cluster policy seed ${SEED} (replay with TSRAY_POLICY_SEED=${SEED})`);

const rand = seededRandom(SEED);
const int = (n: number) => Math.floor(rand() * n);
const oneOf = <T>(xs: readonly T[]): T => xs[int(xs.length)];

const IDS = ["n0", "n1", "n2", "n3", "n4", "n5"];
const SELECTORS: readonly Record<string, string>[] = [{}, {}, { zone: "a" }, { zone: "!b" }, { zone: "a|c" }];

function randomNode(nodeId: string): NodeView {
  const total: Record<string, number> = { CPU: int(9) / 2 };
  if (rand() < 0.4) total.GPU = int(3);
  if (rand() < 0.3) total.accel = int(3);
  const available: Record<string, number> = {};
  for (const [name, amount] of Object.entries(total)) {
    // Mostly within the totals; sometimes CPU oversubscribed (blocked workers took theirs back).
    available[name] = name === "CPU" && rand() < 0.1 ? -0.5 : Math.round(rand() * amount * 2) / 2;
  }
  const labels: Record<string, string> = rand() < 0.8 ? { zone: oneOf(["a", "b", "c"]) } : {};
  return { nodeId, total, available, labels, alive: rand() < 0.85, draining: rand() < 0.1 };
}

function randomRequest(ids: readonly string[]): PlacementRequest {
  const demand: Record<string, number> = {};
  if (rand() < 0.9) demand.CPU = int(7) / 2;
  if (rand() < 0.25) demand.GPU = oneOf([0.5, 1, 2]);
  if (rand() < 0.15) demand.accel = 1 + int(2);
  const strategies: SchedulingStrategy[] = ["DEFAULT", "SPREAD", { nodeId: oneOf(ids), soft: rand() < 0.5 }];
  return { demand, strategy: oneOf(strategies), labelSelector: oneOf(SELECTORS) };
}

// The test's own reading of the rules, written apart from the policy.
const units = (m: ResourceMap, k: string) => Math.round((Object.hasOwn(m, k) ? m[k] : 0) * 10_000);
function matches(sel: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(sel).every(([k, v]) => {
    const not = v.startsWith("!");
    const inSet = (not ? v.slice(1) : v).split("|").includes(labels[k]);
    return not ? !inSet : inSet;
  });
}
// Zero entries ask for nothing (demands drop them), even against oversubscribed CPU.
const fitsIn = (d: ResourceMap, m: ResourceMap) =>
  Object.keys(d).every((k) => units(d, k) === 0 || units(d, k) <= units(m, k));

test("random views: every decision is one the rules allow, and replays from its seed", () => {
  for (let i = 0; i < CASES; i++) {
    const view = IDS.slice(0, 1 + int(IDS.length)).map(randomNode);
    const ids = [...view.map((n) => n.nodeId), "nx"];
    const local = oneOf(ids);
    const req = randomRequest(ids);
    const opts: ChooseOptions = {
      spreadThreshold: oneOf([0, 0.3, 0.5, 1]),
      spreadAfter: rand() < 0.5 ? oneOf(ids) : undefined,
    };
    const rngSeed = int(2 ** 31);
    const d = chooseNode(req, view, local, { ...opts, rng: seededRandom(rngSeed) });
    const where = `case ${i} (seed ${SEED}): ${JSON.stringify({ view, local, req, opts, d })}`;

    const sel = req.labelSelector ?? {};
    const candidates = view.filter((n) => n.alive && !n.draining && matches(sel, n.labels));
    const feasible = candidates.filter((n) => fitsIn(req.demand, n.total));
    const room = feasible.filter((n) => fitsIn(req.demand, n.available));
    const s = req.strategy;
    const pinned = typeof s === "object" ? room.find((n) => n.nodeId === s.nodeId) : undefined;
    const id = chosen(d, local);

    if (id !== undefined) {
      assert.ok(
        room.some((n) => n.nodeId === id),
        `chose a node without room: ${where}`,
      );
      if (d.kind === "spill") assert.notEqual(d.nodeId, local, where);
    }
    if (typeof s === "object" && !s.soft) {
      const target = feasible.find((n) => n.nodeId === s.nodeId);
      const expected = pinned !== undefined ? "chosen" : target !== undefined ? "wait" : "infeasible";
      assert.equal(id !== undefined ? "chosen" : d.kind, expected, where);
      if (id !== undefined) assert.equal(id, s.nodeId, where);
      if (d.kind === "infeasible") assert.ok(d.reason.includes(JSON.stringify(s.nodeId)), where);
    } else {
      const expected = room.length > 0 ? "chosen" : feasible.length > 0 ? "wait" : "infeasible";
      assert.equal(id !== undefined ? "chosen" : d.kind, expected, where);
      if (pinned !== undefined) assert.equal(id, pinned.nodeId, `soft affinity ignored: ${where}`);
      const byDefault = s === "DEFAULT" || (typeof s === "object" && pinned === undefined);
      if (byDefault && id !== undefined) {
        const u = (n: NodeView) => utilizationAfter(req.demand, n);
        const localNode = room.find((n) => n.nodeId === local);
        if (localNode !== undefined && u(localNode) <= (opts.spreadThreshold ?? 0.5)) {
          assert.equal(d.kind, "local", `local under the threshold not kept: ${where}`);
        } else {
          const best = Math.min(...room.map(u));
          assert.equal(u(room.find((n) => n.nodeId === id)!), best, `not least utilized: ${where}`);
        }
      }
    }
    // Same inputs and rng seed, view in another order: the same decision.
    const again = chooseNode(req, [...view].reverse(), local, { ...opts, rng: seededRandom(rngSeed) });
    assert.deepEqual(again, d, `not deterministic: ${where}`);
  }
});
