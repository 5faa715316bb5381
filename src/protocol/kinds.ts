/**
 * The one table of message kinds, for every service of the protocol: one table, so a
 * number can never be given twice (checked below at compile time, and by
 * test/protocol/catalogue.test.ts). Each group names the module that defines its
 * messages and its request->reply map.
 */

/** Message kinds. Numbers are part of the wire format: append, never renumber. */
export const Msg = {
  // common.ts (the reply to every request)
  Reply: 0,
  // handshake.ts, see docs/design/security.md
  Hello: 1,
  Challenge: 2,
  Welcome: 3,
  Refused: 4,
  // owner-worker.ts: owner <-> leased worker, any process <-> object owner
  PushTask: 10,
  TaskDone: 11,
  TaskFailed: 12,
  ReturnTasks: 13,
  CancelTask: 14,
  GetObject: 20,
  // node-manager.ts: worker or owner (driver or worker) <-> node manager
  RegisterWorker: 30,
  WorkerBlocked: 31,
  WorkerUnblocked: 32,
  RegisterDriver: 40,
  RequestLease: 41,
  CancelLeaseRequest: 42,
  ReturnLease: 43,
  GetNodeResources: 44,
  ShutdownNode: 45,
  // control-store.ts: anyone <-> control store
  RegisterNode: 60,
  NodeHeartbeat: 61,
  GetNodes: 62,
  RegisterJob: 63,
  KvPut: 64,
  KvGet: 65,
  KvDelete: 66,
  GetClusterResources: 67,
  // actors.ts
  RegisterActor: 70,
  GetActorInfo: 71,
  GetNamedActor: 72,
  KillActor: 73,
  ListActors: 74,
  CreateActor: 75,
  PushActorTask: 76,
  WorkerExited: 77,
  ActorOwnerGone: 78,
  // ref-counting.ts: any process <-> owner
  AddBorrower: 80,
  RemoveBorrower: 81,
  Unpin: 82,
  GetMemoryInfo: 83,
  // object-store.ts: any process <-> its node manager
  StoreCreate: 90,
  StoreSeal: 91,
  StoreGet: 92,
  StoreRelease: 93,
  StoreFree: 94,
  StorePressure: 95,
  GetStoreStats: 96,
  StorePull: 97,
  StoreReadChunk: 98,
  AddObjectLocation: 99,
  // fault-tolerance.ts, see docs/design/fault-tolerance.md
  WorkerPing: 100,
  ActorAck: 101,
  ActorCovered: 102,
  SaveActorCheckpoint: 103,
} as const;

/** Any message kind number. */
export type MsgKind = (typeof Msg)[keyof typeof Msg];

type MsgName = keyof typeof Msg;
/** Names of kinds whose number another kind also has (never, when every number is unique). */
type DuplicateKinds = {
  [A in MsgName]: {
    [B in Exclude<MsgName, A>]: (typeof Msg)[A] extends (typeof Msg)[B] ? A : never;
  }[Exclude<MsgName, A>];
}[MsgName];
/** Compile-time check: a kind number given twice fails to compile here, naming both kinds. */
export const KINDS_ARE_UNIQUE: [DuplicateKinds] extends [never] ? true : DuplicateKinds = true;

/**
 * Version of this wire catalogue, carried by `Challenge` and `Hello`. Peers of
 * different versions refuse each other at the handshake, naming both versions,
 * instead of misreading each other's messages. Bump it on any incompatible change
 * (a new kind that old peers must understand, a changed shape). Peers that predate
 * versioning (no `v` in Hello) count as version 1. Version 3: a core worker answers
 * GetMemoryInfo with a one-element array (it answered a bare report before). Version 4:
 * objects stored on another node are pulled between node managers (StorePull,
 * StoreReadChunk, AddObjectLocation; GetObjectReply's `from`), not sent inline.
 */
export const PROTOCOL_VERSION = 4;

/** Name of each message kind, by number (for error messages and logs). */
export const MSG_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(Msg).map(([name, kind]) => [kind, name] as [number, string]),
);
