// A node that is not the head: its node manager joined to the head's control store
// over the network. See docs/design/node-manager.md ("Worker nodes").

export { RemoteControlStore } from "./remote-control-store.js";
export { type DaemonSpec, forkDaemon, type ReadyMessage } from "./spawn.js";
export { WorkerNode, type WorkerNodeConfig } from "./worker-node.js";
