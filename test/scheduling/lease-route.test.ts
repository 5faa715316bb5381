// Routing one lease request as a node manager does (routeLease): spilled requests never
// spill again, SPREAD rotates, node affinity hard and soft, label selectors, where a
// request that must wait queues, and the placement part of the grouping key.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ClusterPolicy,
  type ClusterView,
  type LeaseRoute,
  placementKey,
  type RouteRequest,
  routeLease,
  validateNodeLabels,
} from "../../src/scheduling/index.js";
import { node } from "./cluster-helpers.js";

const CPU1 = { CPU: 1 };

function where(r: LeaseRoute, local: string): string {
  return r.kind === "local" ? local : r.kind === "spill" ? r.nodeId : r.kind;
}

function route(req: RouteRequest, view: ClusterView, local = "a", policy = new ClusterPolicy()): LeaseRoute {
  return routeLease(policy, req, view, local);
}

describe("routeLease: spilled requests", () => {
  it("a spilled request stays on the node it was sent to, even when that node is full or busy", () => {
    const view = [node("a", { CPU: 2 }, { CPU: 2 }), node("b", { CPU: 2 })];
    assert.deepEqual(route({ demand: CPU1, spilled: true }, view), { kind: "local" });
    // Without the flag the same node would send it on: no ping-pong with it.
    assert.deepEqual(route({ demand: CPU1 }, view), { kind: "spill", nodeId: "b" });
    assert.deepEqual(route({ demand: CPU1, strategy: "SPREAD", spilled: true }, view), { kind: "local" });
  });

  it("a spilled request this node can never fit is infeasible, naming the node and the shortfall", () => {
    const view = [node("a", { CPU: 1 }), node("b", { CPU: 8 })];
    const r = route({ demand: { CPU: 4 }, spilled: true }, view);
    assert.equal(r.kind, "infeasible");
    assert.match(r.kind === "infeasible" ? r.reason : "", /node "a" .*needs 4 CPU, it has 1/);
  });
});

describe("routeLease: strategies", () => {
  it("SPREAD alternates between nodes with room, one policy keeping the cursor", () => {
    const policy = new ClusterPolicy();
    const view = [node("a", { CPU: 4 }), node("b", { CPU: 4 })];
    const out = [0, 1, 2, 3].map(() =>
      where(route({ demand: CPU1, strategy: "SPREAD" }, view, "a", policy), "a"),
    );
    assert.deepEqual(out, ["a", "b", "a", "b"]);
  });

  it("DEFAULT keeps work local below the threshold, where SPREAD would not", () => {
    const view = [node("a", { CPU: 4 }), node("b", { CPU: 4 })];
    assert.equal(where(route({ demand: CPU1 }, view), "a"), "a");
  });

  it("hard affinity pins to the node; queues there when it is full; fails for an unknown or dead node", () => {
    const view = [
      node("a", { CPU: 2 }),
      node("b", { CPU: 2 }, { CPU: 2 }),
      node("c", { CPU: 2 }, {}, { alive: false }),
    ];
    assert.deepEqual(route({ demand: CPU1, strategy: { nodeId: "a", soft: false } }, view), {
      kind: "local",
    });
    assert.deepEqual(route({ demand: CPU1, strategy: { nodeId: "b", soft: false } }, view), {
      kind: "spill",
      nodeId: "b",
    });
    const unknown = route({ demand: CPU1, strategy: { nodeId: "zz", soft: false } }, view);
    assert.deepEqual(unknown, {
      kind: "infeasible",
      reason: 'hard node affinity: node "zz" is not in the cluster',
    });
    const dead = route({ demand: CPU1, strategy: { nodeId: "c", soft: false } }, view);
    assert.deepEqual(dead, { kind: "infeasible", reason: 'hard node affinity: node "c" is dead' });
  });

  it("soft affinity to a dead, unknown or full node falls back to DEFAULT", () => {
    const view = [
      node("a", { CPU: 2 }),
      node("b", { CPU: 2 }, { CPU: 2 }),
      node("c", { CPU: 2 }, {}, { alive: false }),
    ];
    for (const nodeId of ["b", "c", "zz"]) {
      assert.deepEqual(
        route({ demand: CPU1, strategy: { nodeId, soft: true } }, view),
        { kind: "local" },
        nodeId,
      );
    }
    assert.deepEqual(route({ demand: CPU1, strategy: { nodeId: "a", soft: true } }, view, "b"), {
      kind: "spill",
      nodeId: "a",
    });
  });
});

describe("routeLease: labels and waiting", () => {
  const view = [
    node("a", { CPU: 2 }, {}, { labels: { zone: "x" } }),
    node("b", { CPU: 2 }, {}, { labels: { zone: "y", disk: "ssd" } }),
  ];

  it("a label selector picks the matching node, even over a local node with room", () => {
    assert.deepEqual(route({ demand: CPU1, labelSelector: { zone: "y" } }, view), {
      kind: "spill",
      nodeId: "b",
    });
    assert.deepEqual(route({ demand: CPU1, labelSelector: { zone: "!y" } }, view), { kind: "local" });
  });

  it("no live node matching is infeasible, naming the selector", () => {
    const r = route({ demand: CPU1, labelSelector: { zone: "z" } }, view);
    assert.deepEqual(r, {
      kind: "infeasible",
      reason: 'no live node matches the label selector {"zone":"z"}',
    });
  });

  it("when every node is full: queue here if this node could run it, else on the least loaded one that could", () => {
    const full = [
      node("a", { CPU: 2 }, { CPU: 2 }),
      node("b", { CPU: 4 }, { CPU: 4 }),
      node("c", { CPU: 4 }, { CPU: 4 }),
    ];
    assert.deepEqual(route({ demand: CPU1 }, full), { kind: "local" });
    const big = { demand: { CPU: 3 } };
    assert.deepEqual(route(big, full), { kind: "spill", nodeId: "b" });
    const busier = [full[0]!, node("b", { CPU: 4 }, { CPU: 4 }), node("c", { CPU: 8 }, { CPU: 5 })];
    assert.deepEqual(route(big, busier), { kind: "spill", nodeId: "c" });
  });
});

describe("placementKey and node labels", () => {
  it("keys each placement apart, DEFAULT without a selector adding nothing", () => {
    assert.equal(placementKey(undefined), "");
    assert.equal(placementKey("DEFAULT", {}), "");
    assert.equal(placementKey("SPREAD"), "|SPREAD");
    assert.equal(placementKey({ nodeId: "n1", soft: false }), "|node=n1");
    assert.equal(placementKey({ nodeId: "n1", soft: true }, { zone: "a" }), '|node~n1|labels={"zone":"a"}');
  });

  it("validateNodeLabels copies good labels and refuses what no selector could match", () => {
    assert.deepEqual(validateNodeLabels({ zone: "a" }), { zone: "a" });
    assert.deepEqual(validateNodeLabels(undefined), {});
    assert.throws(
      () => validateNodeLabels({ zone: 1 }, "--labels"),
      /--labels\["zone"\] must be a non-empty string.*got 1/,
    );
    assert.throws(() => validateNodeLabels({ zone: "a|b" }), /without "\|"/);
    assert.throws(() => validateNodeLabels({ zone: "!a" }), /not starting with "!"/);
    assert.throws(() => validateNodeLabels(["a"]), TypeError);
  });
});
