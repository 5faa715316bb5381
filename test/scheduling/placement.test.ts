import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { infeasibleReason, NodeResources, toDemand } from "../../src/scheduling/index.js";

describe("infeasibleReason", () => {
  it("is null when some node could ever fit the demand", () => {
    assert.equal(infeasibleReason({ CPU: 4 }, [{ CPU: 2 }, { CPU: 8 }]), null);
    assert.equal(infeasibleReason({}, [{}]), null);
    assert.equal(infeasibleReason({ GPU: 0.5 }, [{ CPU: 1, GPU: 1 }]), null);
  });

  it("names a resource the cluster lacks entirely", () => {
    assert.equal(infeasibleReason({ CPU: 1, GPU: 1 }, [{ CPU: 4 }]), "needs 1 GPU, cluster has 0");
    assert.equal(infeasibleReason({ GPU: 0.5 }, [{ CPU: 4 }, { CPU: 2 }]), "needs 0.5 GPU, cluster has 0");
    assert.equal(infeasibleReason({ accel: 2 }, [{ CPU: 1 }]), "needs 2 accel, cluster has 0");
  });

  it("names the largest node when none is big enough", () => {
    assert.equal(infeasibleReason({ CPU: 4 }, [{ CPU: 2 }]), "needs 4 CPU, the largest node has 2");
    assert.equal(
      infeasibleReason({ CPU: 4 }, [{ CPU: 1 }, { CPU: 3 }]),
      "needs 4 CPU, the largest node has 3",
    );
    assert.equal(infeasibleReason({ GPU: 2 }, [{ GPU: 1 }]), "needs 2 GPU, the largest node has 1");
    assert.equal(
      infeasibleReason({ memory: 2 ** 31 }, [{ memory: 2 ** 30 }]),
      "needs 2 GiB memory, the largest node has 1 GiB",
    );
  });

  it("lists every missing resource in a stable order", () => {
    assert.equal(
      infeasibleReason({ zz: 1, GPU: 1, CPU: 8 }, [{ CPU: 2 }]),
      "needs 8 CPU, the largest node has 2; needs 1 GPU, cluster has 0; needs 1 zz, cluster has 0",
    );
  });

  it("explains a demand split across nodes", () => {
    assert.equal(
      infeasibleReason({ CPU: 2, GPU: 1 }, [{ CPU: 4 }, { CPU: 1, GPU: 1 }]),
      "needs 2 CPU, 1 GPU on one node, but no node has all of them",
    );
  });

  it("handles a cluster without nodes", () => {
    assert.equal(infeasibleReason({ CPU: 1 }, []), "needs 1 CPU, the cluster has no nodes");
    assert.equal(infeasibleReason({}, []), "the cluster has no nodes");
  });

  it("works on NodeResources totals and normalized demands", () => {
    const node = new NodeResources({ CPU: 2 });
    const demand = toDemand({ numGpus: 1 }, 1, "remote() options");
    assert.equal(infeasibleReason(demand, [node.total]), "needs 1 GPU, cluster has 0");
  });
});
