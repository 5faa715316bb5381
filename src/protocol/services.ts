/**
 * Which process serves which messages: each service's request->reply map and its
 * notifications, composed from the per-topic modules. Everything else is derived
 * from these maps: the Message union, the reply type `request()` infers from a kind,
 * and the handler objects (`Handlers`) each service must provide in full.
 */
import type {
  ActorDirectoryNotifications,
  ActorDirectoryRequests,
  ActorWorkerNotifications,
  ActorWorkerRequests,
} from "./actors.js";
import type { ControlStoreNotifications, ControlStoreRequests } from "./control-store.js";
import type { CheckpointNotifications, CheckpointRequests, HealthRequests } from "./fault-tolerance.js";
import { Msg, type MsgKind } from "./kinds.js";
import type { HeadRequests, NodeManagerNotifications, NodeManagerRequests } from "./node-manager.js";
import type {
  ObjectStoreNotifications,
  ObjectStoreRequests,
  StoreClientNotifications,
} from "./object-store.js";
import type { OwnerWorkerNotifications, OwnerWorkerRequests } from "./owner-worker.js";
import type { MemoryRequests, RefCountingNotifications, RefCountingRequests } from "./ref-counting.js";

/** A service: its requests (kind -> `{ req, reply }`) and notifications (kind -> message). */
export interface Service {
  requests: object;
  notifications: object;
}

/** What the node manager serves (on the head, behind the head's endpoint). */
export interface NodeManagerService {
  requests: NodeManagerRequests & ObjectStoreRequests & MemoryRequests;
  notifications: NodeManagerNotifications & ObjectStoreNotifications;
}

/** What the control store serves (on the head, behind the head's endpoint). */
export interface ControlStoreService {
  requests: ControlStoreRequests & ActorDirectoryRequests & CheckpointRequests;
  notifications: ControlStoreNotifications & ActorDirectoryNotifications;
}

/** What the head serves itself, besides routing to its node manager and control store. */
export interface HeadService {
  requests: HeadRequests;
  notifications: {};
}

/** What every core worker (driver, task worker, actor worker) serves. */
export interface CoreWorkerService {
  requests: OwnerWorkerRequests & ActorWorkerRequests & RefCountingRequests & MemoryRequests & HealthRequests;
  notifications: OwnerWorkerNotifications &
    ActorWorkerNotifications &
    RefCountingNotifications &
    StoreClientNotifications &
    CheckpointNotifications;
}

/** Every request of every service, by kind (a kind served by two services has one entry: one reply type). */
export type AllRequests = NodeManagerService["requests"] &
  ControlStoreService["requests"] &
  HeadService["requests"] &
  CoreWorkerService["requests"];

/** Every notification of every service, by kind. */
export type AllNotifications = NodeManagerService["notifications"] &
  ControlStoreService["notifications"] &
  HeadService["notifications"] &
  CoreWorkerService["notifications"];

/** A kind that expects a Reply. */
export type RequestKind = keyof AllRequests & MsgKind;
/** A kind that gets no reply. */
export type NotificationKind = keyof AllNotifications & MsgKind;
/** The request message of kind `K`. */
export type RequestOf<K extends RequestKind> = AllRequests[K]["req"];
/** The reply body of a request of kind `K`: what `Connection.request()` resolves with. */
export type ReplyOf<K extends RequestKind> = AllRequests[K]["reply"];
/** A request of kind `K` as its sender writes it: the transport assigns `rid`. */
export type RequestBodyOf<K extends RequestKind> = { t: K } & Omit<RequestOf<K>, "rid" | "t">;
/** Sends one request and resolves with its reply, typed by its kind (Connection.request and its wrappers). */
export type Requester = <K extends RequestKind>(body: RequestBodyOf<K>) => Promise<ReplyOf<K>>;

/** What a request handler may return for a reply of type `R`. */
export type Answer<R> = R | Promise<R>;

/**
 * One handler per kind that service `S` serves, with `C` the connection type: a
 * request handler returns its kind's reply (or a promise of it), a notification
 * handler returns nothing. A missing kind, an extra kind or a wrong reply type is a
 * compile error in the service that declares its handlers with this type.
 */
export type Handlers<S extends Service, C> = {
  readonly [K in keyof S["requests"] | keyof S["notifications"]]: K extends keyof S["requests"]
    ? S["requests"][K] extends { req: infer M; reply: infer R }
      ? (msg: M, conn: C) => Answer<R>
      : never
    : K extends keyof S["notifications"]
      ? (msg: S["notifications"][K], conn: C) => void
      : never;
};

// ---- compile-time checks of the maps ----------------------------------------

type Not<T> = [T] extends [never] ? true : false;
/** Kinds of requests whose `req` is not the message of that kind or has no `rid`. */
type BadRequests = {
  [K in RequestKind]: RequestOf<K> extends { t: K; rid: number } ? never : K;
}[RequestKind];
/** Kinds of notifications whose message is not of that kind or carries a `rid`. */
type BadNotifications = {
  [K in NotificationKind]: AllNotifications[K] extends { t: K; rid: number }
    ? K
    : AllNotifications[K] extends { t: K }
      ? never
      : K;
}[NotificationKind];
/** Kinds (other than Reply and the handshake's) that no service serves. */
type Unserved = Exclude<
  MsgKind,
  | RequestKind
  | NotificationKind
  | typeof Msg.Reply
  | typeof Msg.Hello
  | typeof Msg.Challenge
  | typeof Msg.Welcome
  | typeof Msg.Refused
>;

/**
 * Compile-time check: every map entry is the message of its own kind (requests with
 * `rid`, notifications without), no kind is both, and every kind is served by some
 * service. A violation fails to compile here, naming the kinds.
 */
export const MAPS_ARE_CONSISTENT: {
  requests: Not<BadRequests> extends true ? true : BadRequests;
  notifications: Not<BadNotifications> extends true ? true : BadNotifications;
  both: Not<RequestKind & NotificationKind> extends true ? true : RequestKind & NotificationKind;
  unserved: Not<Unserved> extends true ? true : Unserved;
} = { requests: true, notifications: true, both: true, unserved: true };

/** Every kind the control store serves (requests and notifications). */
type ControlStoreKind = keyof ControlStoreService["requests"] | keyof ControlStoreService["notifications"];

const controlStoreKinds = {
  [Msg.RegisterNode]: true,
  [Msg.NodeHeartbeat]: true,
  [Msg.GetNodes]: true,
  [Msg.RegisterJob]: true,
  [Msg.KvPut]: true,
  [Msg.KvGet]: true,
  [Msg.KvDelete]: true,
  [Msg.GetClusterResources]: true,
  [Msg.RegisterActor]: true,
  [Msg.GetActorInfo]: true,
  [Msg.GetNamedActor]: true,
  [Msg.KillActor]: true,
  [Msg.ListActors]: true,
  [Msg.WorkerExited]: true,
  [Msg.SaveActorCheckpoint]: true,
  [Msg.ActorOwnerGone]: true,
} as const satisfies Record<ControlStoreKind, true>;

/**
 * The kinds the control store serves, at run time: a process on a worker node sends
 * these to the head, the rest to its node manager. Exhaustive by type: a kind added to
 * ControlStoreService and missing here does not compile.
 */
export const CONTROL_STORE_KINDS: ReadonlySet<number> = new Set(Object.keys(controlStoreKinds).map(Number));
