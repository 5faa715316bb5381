// Compile-time checks of the protocol's typing (checked by `tsc --noEmit -p
// tsconfig.json` and by test/protocol/typing.test.ts). Every `@ts-expect-error` below
// must be an error: an unused one is itself a compile error, so a clean run proves
// that replies are inferred from the kind, wrong bodies and notifications are
// refused by request(), and handler objects must serve every kind with its reply.
// This file is type-checked only; it never runs.
import {
  type ActorInfo,
  type ActorSpec,
  type Handlers,
  type LeaseGrant,
  Msg,
  type NodeManagerService,
  type ProcessMemoryInfo,
  type RegisterActorReply,
  type Requester,
} from "../../src/protocol/index.js";
import type { Connection } from "../../src/transport/index.js";

declare const spec: ActorSpec;

export async function requests(conn: Connection, call: Requester): Promise<void> {
  // The reply type follows from the kind: no type argument, no cast.
  const info: ActorInfo = await conn.request({ t: Msg.GetActorInfo, actorId: "a" });
  const reg: RegisterActorReply = await call({ t: Msg.RegisterActor, spec });
  const grant = await conn.request({ t: Msg.RequestLease, demand: {}, runtimeKey: "k" });
  if (!("cancelled" in grant) && !("spillback" in grant)) {
    const g: LeaseGrant = grant;
    void g;
  }
  // RegisterActor's reply carries the owner too (it was typed `{ actorId }` by hand before).
  const owner: string = reg.owner;
  // GetMemoryInfo answers an array from every server (node manager and core worker alike).
  const reports: ProcessMemoryInfo[] = await conn.request({ t: Msg.GetMemoryInfo, fanout: true });
  // @ts-expect-error: the reply of GetNodes is NodeInfo[], not ActorInfo
  const wrong: ActorInfo = await conn.request({ t: Msg.GetNodes });
  // @ts-expect-error: a field GetActorInfo does not have
  await conn.request({ t: Msg.GetActorInfo, actorId: "a", bogus: 1 });
  // @ts-expect-error: a field GetActorInfo needs is missing
  await conn.request({ t: Msg.GetActorInfo });
  // @ts-expect-error: ReturnLease is a notification (send it), not a request
  await conn.request({ t: Msg.ReturnLease, leaseId: 1 });
  // @ts-expect-error: type arguments are gone: the kind decides the reply
  await conn.request<ActorInfo>({ t: Msg.GetActorInfo, actorId: "a" });
  void info;
  void owner;
  void reports;
  void wrong;
}

type NodeManagerHandlers = Handlers<NodeManagerService, Connection>;
declare const full: NodeManagerHandlers;

export const missingKind: NodeManagerHandlers = {
  ...full,
  // @ts-expect-error: a handler must answer with its kind's reply (NodeResourcesView here)
  [Msg.GetNodeResources]: () => ({ nodeId: "n" }),
};

// @ts-expect-error: a service that forgets a kind (here RequestLease) does not compile
export const forgetful: NodeManagerHandlers = (({ [Msg.RequestLease]: _gone, ...rest }) => rest)(full);

export const extraKind: NodeManagerHandlers = {
  ...full,
  // @ts-expect-error: a kind the service does not serve (PushTask is the core worker's)
  [Msg.PushTask]: () => undefined,
};
