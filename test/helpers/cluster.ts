/**
 * One embedded cluster per test file (or per describe block): `useCluster(opts)`
 * registers `before` (init) and `after` (shutdown, then checks by pid that the head
 * and every worker are gone and that the session directory was removed; leftovers
 * are SIGKILLed so a failure never leaks processes).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before } from "node:test";
import * as ray from "tsray";
import type { Cluster } from "tsray/testing";
import { expectAllDead, killPids, within } from "./processes.js";
import { removeTempDirs } from "./temp.js";

export interface ClusterHandle {
  /** What init() returned (throws if init has not run yet). */
  readonly info: ray.ClusterInfo;
}

/** Every pid of the embedded cluster this driver started: head plus current workers. */
export async function clusterPids(info: ray.ClusterInfo): Promise<number[]> {
  const workers = await ray.listWorkers();
  return [info.headPid!, ...workers.map((w) => w.pid)];
}

export function useCluster(opts: ray.InitOptions): ClusterHandle {
  let info: ray.ClusterInfo | undefined;
  before(async () => {
    info = await ray.init(opts);
    assert.equal(typeof info.headPid, "number");
  });
  after(async () => {
    if (!info) return;
    const pids = new Set<number>([info.headPid!]);
    try {
      for (const pid of await within(clusterPids(info), 10_000, "the head's worker list")) pids.add(pid);
    } catch {
      // the head is unreachable: shutdown kills what it can; the pid check below judges
    }
    try {
      await ray.shutdown();
      await expectAllDead([...pids], 10_000);
      assert.equal(existsSync(info.sessionDir), false, `session dir ${info.sessionDir} was not removed`);
    } finally {
      killPids(pids);
      removeTempDirs();
    }
  });
  return {
    get info(): ray.ClusterInfo {
      if (!info) throw new Error("the cluster is not initialized yet");
      return info;
    },
  };
}

/**
 * Tear down a multi-node `Cluster` (tsray/testing): disconnect this driver, stop every
 * node, then check by pid that the nodes and `morePids` (their workers) are gone and
 * that no live node's session directory is left; leftovers are SIGKILLed.
 */
export async function stopNodes(cluster: Cluster, morePids: Iterable<number> = []): Promise<void> {
  const pids = new Set<number>([...cluster.nodes.map((n) => n.pid), ...morePids]);
  const dirs = cluster.nodes.map((n) => n.sessionDir);
  try {
    await ray.shutdown();
    await cluster.shutdown();
    await expectAllDead([...pids], 15_000);
    for (const d of dirs) assert.equal(existsSync(d), false, `${d} was left behind`);
  } finally {
    killPids(pids);
  }
}
