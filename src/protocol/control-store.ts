/**
 * Anyone <-> the control store (Ray's GCS, on the head): the node table, job ids,
 * cluster resources and a small KV. Served by the control store. Its actor
 * directory's messages are in actors.ts.
 */
import type { ResourceMap } from "../scheduling/index.js";
import type { Msg } from "./kinds.js";

/**
 * Node manager -> control store: join the cluster. Reply body: `{}`. Idempotent per
 * nodeId (a repeat refreshes the entry). In-process on the head today (no separate
 * node manager exists).
 * Failure: a remote node manager that loses it (connection lost before the reply)
 * must register again.
 */
export interface RegisterNode {
  t: typeof Msg.RegisterNode;
  rid: number;
  node: NodeInfo;
}

/** A node as the control store records it. */
export interface NodeInfo {
  nodeId: string;
  address: string;
  hostname: string;
  total: ResourceMap;
  alive: boolean;
  isHead: boolean;
  /** Its last reported available resources (GetNodes; absent in RegisterNode). */
  available?: ResourceMap;
  /** Its labels (`tsray start --labels`), matched by label selectors; absent: none. */
  labels?: Record<string, string>;
}

/**
 * Node manager -> control store: its available resources, sent whenever they change
 * (a lease granted, returned or blocked). Notification. In-process on the head today
 * (no separate node manager exists). State, not delta: idempotent. Unknown node ids
 * are ignored. Missing heartbeats do not mark a node dead: the arrival time is
 * recorded but nothing acts on it yet.
 * Failure: a lost one is made good by the next; until then the control store's view
 * (GetClusterResources' `available`) is stale.
 */
export interface NodeHeartbeat {
  t: typeof Msg.NodeHeartbeat;
  nodeId: string;
  available: ResourceMap;
}

/**
 * -> control store: the node table. Reply body: `NodeInfo[]`. Read-only.
 * Failure: connection lost -> the request rejects.
 */
export interface GetNodes {
  t: typeof Msg.GetNodes;
  rid: number;
}

/**
 * Driver -> control store: a new job id. Reply body: `{ jobId: string }`. Not
 * idempotent (a retry gets a new id).
 * Failure: not re-sent: connection lost -> init() fails.
 */
export interface RegisterJob {
  t: typeof Msg.RegisterJob;
  rid: number;
}

/**
 * -> control store KV: store `value` under `key` in namespace `ns` (replacing an
 * existing value only with `overwrite`). Reply body `{ added: boolean }`: false when
 * the key existed. Idempotent in effect (a repeat reports `added` false). Nothing in
 * tsray sends it yet.
 * Failure: connection lost -> the request rejects; the put may or may not have
 * happened. The store is in the head's memory: it is lost when the head exits.
 */
export interface KvPut {
  t: typeof Msg.KvPut;
  rid: number;
  ns: string;
  key: string;
  value: Uint8Array;
  overwrite: boolean;
}

/**
 * -> control store KV: the value of `key` in namespace `ns`. Reply body
 * `{ value?: Uint8Array }` (no `value`: no such key). Read-only. Nothing in tsray
 * sends it yet.
 * Failure: connection lost -> the request rejects; safe to resend.
 */
export interface KvGet {
  t: typeof Msg.KvGet;
  rid: number;
  ns: string;
  key: string;
}

/**
 * -> control store KV: delete `key` in namespace `ns`. Reply body
 * `{ deleted: boolean }`: false when there was no such key. Idempotent in effect.
 * Nothing in tsray sends it yet.
 * Failure: connection lost -> the request rejects; the delete may or may not have
 * happened (re-sending is safe).
 */
export interface KvDelete {
  t: typeof Msg.KvDelete;
  rid: number;
  ns: string;
  key: string;
}

/**
 * -> control store: summed totals and availability of live nodes. Reply body:
 * `ClusterResources` (availability as of the last NodeHeartbeat). Read-only.
 * Failure: connection lost -> the request rejects.
 */
export interface GetClusterResources {
  t: typeof Msg.GetClusterResources;
  rid: number;
}

/** Reply to GetClusterResources: per resource, the sum over live nodes. */
export interface ClusterResources {
  total: Record<string, number>;
  available: Record<string, number>;
}

/** Requests the control store serves, by kind: the message and its reply body. */
export interface ControlStoreRequests {
  [Msg.RegisterNode]: { req: RegisterNode; reply: Record<string, never> };
  [Msg.GetNodes]: { req: GetNodes; reply: NodeInfo[] };
  [Msg.RegisterJob]: { req: RegisterJob; reply: { jobId: string } };
  [Msg.KvPut]: { req: KvPut; reply: { added: boolean } };
  [Msg.KvGet]: { req: KvGet; reply: { value?: Uint8Array } };
  [Msg.KvDelete]: { req: KvDelete; reply: { deleted: boolean } };
  [Msg.GetClusterResources]: { req: GetClusterResources; reply: ClusterResources };
}

/** Notifications the control store serves. */
export interface ControlStoreNotifications {
  [Msg.NodeHeartbeat]: NodeHeartbeat;
}
