// Commands for races: stalling one kind of message on the network, resetting links,
// a clean driver shutdown, and the owner's and node manager's lease state (so a
// transcript shows which lease requests are out). Reference: docs/design/simulation.md.
import { type Command, carries, hostOf, kindOf, need } from "./command-args.js";

/** The race commands, merged into the command table by commands.ts. */
export const netCommands: Record<string, Command> = {
  /**
   * Hold back frames carrying a message of the kind named (and what follows them on the
   * same link direction) until `release-held`; `from=`/`to=` limit it to frames between those hosts.
   */
  hold: (sim, a) => {
    const t = kindOf(need(a, 0, "message kind"));
    const from = a.opt.has("from") ? hostOf(sim, a.opt.get("from")!) : undefined;
    const to = a.opt.has("to") ? hostOf(sim, a.opt.get("to")!) : undefined;
    sim.net.hold(
      (f) => (from === undefined || f.from === from) && (to === undefined || f.to === to) && carries(f, t),
    );
    return [];
  },
  "release-held": async (sim) => {
    const n = sim.net.release();
    await sim.stabilize();
    return [`released ${n} frames`];
  },
  /** Reset the links between two hosts now (both ends see the connection close), as a network reset would. */
  disconnect: async (sim, a) => {
    const n = sim.net.cut(hostOf(sim, need(a, 0, "host")), hostOf(sim, need(a, 1, "host")));
    await sim.stabilize();
    return [`reset ${n} link ends`];
  },
  /** The driver shuts down cleanly (returns its leases, closes its connections), as shutdown() does. */
  "shutdown-driver": async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    d.dead = true;
    d.cw.close();
    await sim.stabilize();
    return [];
  },
  /** The driver's task submitter: per shape, queued task ids, lease requests (and those being cancelled), leases. */
  owner: (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    return d.cw.submitterState().map((s) => {
      const leases = s.leases.map((l) => `${l.workerId}[${l.inflight.join(",")}]`).join(" ") || "none";
      return (
        `${s.shape}: queued [${s.queued.join(",")}] requests [${s.requests.join(",")}] ` +
        `cancelling [${s.cancelling.join(",")}] leases ${leases}`
      );
    });
  },
  /** The node manager's lease queue: requests waiting for a grant, leases held. */
  leases: (sim, a) => {
    const c = sim.node(need(a, 0, "node")).nodeManager.leaseCounts();
    return [`pending ${c.pending} leases ${c.leases}`];
  },
};
