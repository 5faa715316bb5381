// `tsray/testing`: helpers for users' tests. See docs/design/simulation.md (in-process
// simulation, tsray's own) and the README's cluster section (this multi-process one).

export { Cluster, type ClusterNode, type ClusterNodeOptions } from "./cluster.js";
