// The cluster placement policy: DEFAULT packs then spreads, spill, wait, infeasible
// reasons, SPREAD, node affinity, dead and draining nodes, labels and determinism.
// The seeded property test is in cluster-policy-property.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ClusterPolicy,
  type ClusterView,
  chooseNode,
  type PlacementRequest,
  type ResourceMap,
  utilizationAfter,
} from "../../src/scheduling/index.js";
import { seededRandom } from "../../src/util/index.js";
import { label, node, place } from "./cluster-helpers.js";

const CPU1: PlacementRequest = { demand: { CPU: 1 } };

/** Runs `count` requests through `policy`, carrying each decision out on the view. */
function run(
  view: ClusterView,
  local: string,
  req: PlacementRequest,
  count: number,
  policy = new ClusterPolicy(),
) {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const d = policy.chooseNode(req, view, local);
    out.push(label(d, local));
    view = place(view, d, local, req.demand);
  }
  return out;
}

describe("chooseNode DEFAULT", () => {
  it("packs the local node up to the threshold, then goes to the least utilized", () => {
    const view = [node("a", { CPU: 4 }), node("b", { CPU: 4 })];
    assert.deepEqual(run(view, "a", CPU1, 9), ["a", "a", "b", "b", "a", "b", "a", "b", "wait"]);
  });

  it("takes the threshold from config: 0 spreads at once, 1 packs until full", () => {
    const wide = [node("a", { CPU: 4 }), node("b", { CPU: 16 })];
    assert.deepEqual(run(wide, "a", CPU1, 3, new ClusterPolicy({ spreadThreshold: 0 })), ["b", "b", "b"]);
    const view = [node("a", { CPU: 4 }), node("b", { CPU: 8 })];
    assert.deepEqual(run(view, "a", CPU1, 5, new ClusterPolicy({ spreadThreshold: 1 })), [
      "a",
      "a",
      "a",
      "a",
      "b",
    ]);
  });

  it("spills when the local node can never fit the demand, or is not in the view", () => {
    const view = [node("a", { CPU: 8 }), node("g", { CPU: 2, GPU: 1 })];
    assert.deepEqual(chooseNode({ demand: { GPU: 1 } }, view, "a"), { kind: "spill", nodeId: "g" });
    assert.deepEqual(chooseNode(CPU1, [node("b", { CPU: 1 })], "a"), { kind: "spill", nodeId: "b" });
  });

  it("waits when some node could fit the demand but none has room now", () => {
    const view = [node("a", { CPU: 2 }, { CPU: 2 }), node("b", { CPU: 4 }, { CPU: 3.5 })];
    assert.deepEqual(chooseNode(CPU1, view, "a"), { kind: "wait" });
    assert.deepEqual(chooseNode({ demand: { GPU: 1 } }, [node("a", { GPU: 1 }, { GPU: 1 })], "a"), {
      kind: "wait",
    });
  });

  it("breaks ties by node id, or by the seeded rng, whatever the view order", () => {
    const full = node("a", { CPU: 1 }, { CPU: 1 });
    const view = [full, node("d", { CPU: 4 }), node("c", { CPU: 4 }), node("e", { CPU: 4 })];
    assert.deepEqual(chooseNode(CPU1, view, "a"), { kind: "spill", nodeId: "c" });
    assert.deepEqual(chooseNode(CPU1, [...view].reverse(), "a"), { kind: "spill", nodeId: "c" });
    const picks = (seed: number, v: ClusterView) => {
      const rng = seededRandom(seed);
      return Array.from({ length: 12 }, () => label(chooseNode(CPU1, v, "a", { rng }), "a"));
    };
    assert.deepEqual(picks(7, view), picks(7, [...view].reverse()));
    assert.deepEqual(new Set(picks(7, view)), new Set(["c", "d", "e"]), "the rng spreads ties");
  });

  it("keeps work local on a tie with the best remote node", () => {
    const view = [node("b", { CPU: 4 }, { CPU: 2 }), node("a", { CPU: 4 }, { CPU: 2 })];
    assert.deepEqual(chooseNode(CPU1, view, "a"), { kind: "local" });
  });

  it("ignores dead nodes and gives draining nodes no new work, local or not", () => {
    const view = [
      node("a", { CPU: 4 }, {}, { draining: true }),
      node("dead", { CPU: 64 }, {}, { alive: false }),
      node("b", { CPU: 4 }, { CPU: 3 }),
    ];
    assert.deepEqual(run(view, "a", CPU1, 2), ["b", "wait"]);
  });

  it("rejects a spreadThreshold outside 0..1, naming it", () => {
    assert.throws(() => chooseNode(CPU1, [], "a", { spreadThreshold: 1.5 }), {
      name: "TypeError",
      message: /chooseNode\(\): spreadThreshold must be a number from 0 to 1 .*got 1\.5/,
    });
    assert.throws(
      () => new ClusterPolicy({ spreadThreshold: Number.NaN }),
      /ClusterPolicy: spreadThreshold.*NaN/,
    );
  });
});

describe("chooseNode infeasible reasons", () => {
  const reason = (req: PlacementRequest, view: ClusterView, local = "a") => {
    const d = chooseNode(req, view, local);
    assert.equal(d.kind, "infeasible");
    return d.kind === "infeasible" ? d.reason : "";
  };

  it("names a missing GPU or custom resource, as infeasibleReason does", () => {
    const view = [node("a", { CPU: 4 }), node("b", { CPU: 2, accel: 1 })];
    assert.equal(reason({ demand: { CPU: 1, GPU: 1 } }, view), "needs 1 GPU, cluster has 0");
    assert.equal(reason({ demand: { accel: 2 } }, view), "needs 2 accel, the largest node has 1");
    assert.equal(reason({ demand: { gold: 1 } }, view), "needs 1 gold, cluster has 0");
  });

  it("counts only live nodes that match the label selector", () => {
    const view = [
      node("a", { CPU: 1 }, {}, { labels: { zone: "us" } }),
      node("g", { GPU: 1 }, {}, { labels: { zone: "eu" } }),
      node("h", { GPU: 8 }, {}, { labels: { zone: "us" }, alive: false }),
    ];
    assert.equal(
      reason({ demand: { GPU: 1 }, labelSelector: { zone: "us" } }, view),
      'needs 1 GPU, cluster has 0 (among live nodes matching the label selector {"zone":"us"})',
    );
    assert.equal(
      reason({ demand: { CPU: 1 }, labelSelector: { zone: "ap" } }, view),
      'no live node matches the label selector {"zone":"ap"}',
    );
  });

  it("says when the cluster has no nodes, or none alive and taking work", () => {
    assert.equal(reason(CPU1, []), "needs 1 CPU, the cluster has no nodes");
    const gone = [node("a", { CPU: 1 }, {}, { alive: false }), node("b", { CPU: 1 }, {}, { draining: true })];
    assert.equal(
      reason(CPU1, gone),
      "needs 1 CPU, but no node is alive and taking new work (1 dead, 1 draining)",
    );
    assert.equal(reason({ demand: {} }, gone), "no node is alive and taking new work (1 dead, 1 draining)");
  });
});

describe("chooseNode SPREAD", () => {
  const SPREAD: PlacementRequest = { demand: { CPU: 1 }, strategy: "SPREAD" };
  const four = () => ["a", "b", "c", "d"].map((id) => node(id, { CPU: 4 }));

  function counts(ids: string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const id of ids) out[id] = (out[id] ?? 0) + 1;
    return out;
  }

  it("spreads 8 requests evenly over 4 nodes, round-robin from the policy's cursor", () => {
    // The first pick has no cursor: all tie, so the local node c; then round-robin.
    assert.deepEqual(run(four(), "c", SPREAD, 8), ["c", "d", "a", "b", "c", "d", "a", "b"]);
    // Even on a view that is not updated between decisions (heartbeats lag behind).
    const policy = new ClusterPolicy();
    const stale = four();
    const ids = Array.from({ length: 8 }, () => label(policy.chooseNode(SPREAD, stale, "c"), "c"));
    assert.deepEqual(counts(ids), { a: 2, b: 2, c: 2, d: 2 });
  });

  it("without a cursor takes the least utilized; with one, skips nodes without room and wraps", () => {
    const view = [
      node("a", { CPU: 4 }, { CPU: 1 }),
      node("b", { CPU: 4 }),
      node("c", { CPU: 4 }, { CPU: 4 }),
    ];
    assert.deepEqual(chooseNode(SPREAD, view, "a"), { kind: "spill", nodeId: "b" });
    assert.deepEqual(chooseNode(SPREAD, view, "a", { spreadAfter: "b" }), { kind: "local" });
    assert.deepEqual(chooseNode(SPREAD, view, "a", { spreadAfter: "zz" }), { kind: "local" });
    assert.deepEqual(chooseNode(SPREAD, view, "b", { spreadAfter: "a" }), { kind: "local" });
  });

  it("does not move the cursor on wait, and DEFAULT requests never move it", () => {
    const policy = new ClusterPolicy();
    const view = four();
    assert.equal(label(policy.chooseNode(SPREAD, view, "a"), "a"), "a");
    assert.equal(
      label(policy.chooseNode({ demand: { CPU: 9 }, strategy: "SPREAD" }, view, "a"), "a"),
      "infeasible",
    );
    assert.equal(label(policy.chooseNode(CPU1, view, "a"), "a"), "a");
    assert.equal(label(policy.chooseNode(SPREAD, view, "a"), "a"), "b");
  });
});

describe("chooseNode node affinity", () => {
  const view = [
    node("a", { CPU: 4 }, {}, { labels: { zone: "us" } }),
    node("b", { CPU: 2 }, {}, { labels: { zone: "eu" } }),
    node("full", { CPU: 2 }, { CPU: 2 }),
    node("dead", { CPU: 2 }, {}, { alive: false }),
    node("drain", { CPU: 2 }, {}, { draining: true }),
  ];
  const hard = (nodeId: string, demand: ResourceMap = { CPU: 1 }, labelSelector?: Record<string, string>) =>
    chooseNode({ demand, strategy: { nodeId, soft: false }, labelSelector }, view, "a");
  const soft = (nodeId: string) =>
    chooseNode({ demand: { CPU: 1 }, strategy: { nodeId, soft: true } }, view, "a");

  it("hard: that node when it has room, wait when it is full", () => {
    assert.deepEqual(hard("b"), { kind: "spill", nodeId: "b" });
    assert.deepEqual(hard("a"), { kind: "local" });
    assert.deepEqual(hard("full"), { kind: "wait" });
  });

  it("hard: infeasible naming the node when it is unknown, dead, draining, unmatched or too small", () => {
    const why = (d: ReturnType<typeof hard>) => (d.kind === "infeasible" ? d.reason : d.kind);
    assert.equal(why(hard("zz")), 'hard node affinity: node "zz" is not in the cluster');
    assert.equal(why(hard("dead")), 'hard node affinity: node "dead" is dead');
    assert.equal(why(hard("drain")), 'hard node affinity: node "drain" is draining and takes no new work');
    assert.equal(
      why(hard("b", { CPU: 1 }, { zone: "us" })),
      'hard node affinity: node "b" does not match the label selector {"zone":"us"}',
    );
    assert.equal(
      why(hard("b", { CPU: 4, GPU: 1 })),
      'hard node affinity: node "b" can never fit it: needs 4 CPU, it has 2; needs 1 GPU, it has 0',
    );
  });

  it("soft: that node when it has room, else the default policy", () => {
    assert.deepEqual(soft("b"), { kind: "spill", nodeId: "b" });
    for (const id of ["full", "dead", "drain", "zz"]) assert.deepEqual(soft(id), { kind: "local" }, id);
    const big = chooseNode({ demand: { CPU: 3 }, strategy: { nodeId: "b", soft: true } }, view, "a");
    assert.deepEqual(big, { kind: "local" }, "b can never fit 3 CPU");
  });
});

describe("label selectors", () => {
  const view = [
    node("us1", { CPU: 1 }, {}, { labels: { zone: "us", disk: "ssd" } }),
    node("eu1", { CPU: 1 }, {}, { labels: { zone: "eu" } }),
    node("ap1", { CPU: 1 }, {}, { labels: { zone: "ap", disk: "hdd" } }),
    node("bare", { CPU: 1 }),
  ];
  const matching = (labelSelector: Record<string, string>) =>
    view
      .map((n) => n.nodeId)
      .filter(
        (id) =>
          chooseNode({ demand: { CPU: 1 }, labelSelector, strategy: { nodeId: id, soft: false } }, view, "x")
            .kind !== "infeasible",
      );

  it("matches exact values, !not (a missing label counts as not), a|b and !a|b", () => {
    assert.deepEqual(matching({}), ["us1", "eu1", "ap1", "bare"]);
    assert.deepEqual(matching({ zone: "eu" }), ["eu1"]);
    assert.deepEqual(matching({ zone: "!eu" }), ["us1", "ap1", "bare"]);
    assert.deepEqual(matching({ zone: "us|ap" }), ["us1", "ap1"]);
    assert.deepEqual(matching({ zone: "!us|ap" }), ["eu1", "bare"]);
    assert.deepEqual(matching({ zone: "us|ap", disk: "!hdd" }), ["us1"]);
    assert.deepEqual(matching({ constructor: "!x", toString: "x" }), []);
  });

  it("filters candidates before the strategy runs", () => {
    const d = chooseNode({ demand: { CPU: 1 }, labelSelector: { disk: "hdd" } }, view, "us1");
    assert.deepEqual(d, { kind: "spill", nodeId: "ap1" });
  });
});

describe("utilizationAfter", () => {
  it("is the largest (total - available + demand) / total over the requested kinds, in integer units", () => {
    const n = node("a", { CPU: 4, GPU: 2, memory: 1000 }, { CPU: 1, GPU: 1 });
    assert.equal(utilizationAfter({ CPU: 1 }, n), 0.5);
    assert.equal(utilizationAfter({ CPU: 1, memory: 900 }, n), 0.9);
    assert.equal(utilizationAfter({ GPU: 1 }, n), 1, "GPU counts only when asked for");
    assert.equal(utilizationAfter({}, n), 0);
    const tenths = {
      nodeId: "t",
      total: { CPU: 1 },
      available: { CPU: 1 - 0.1 - 0.2 },
      labels: {},
      alive: true,
    };
    assert.equal(utilizationAfter({ CPU: 0.1 }, tenths), 0.4, "0.1 + 0.2 + 0.1 is exactly 0.4 in units");
    assert.equal(utilizationAfter({ accel: 1 }, n), Number.POSITIVE_INFINITY);
  });
});
