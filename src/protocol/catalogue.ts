/**
 * The wire catalogue as unions, derived from the service maps (services.ts): a
 * message exists on the wire exactly when some service serves it (or it belongs to
 * the handshake, or it is the Reply).
 */
import type { Reply } from "./common.js";
import type { HandshakeMessage } from "./handshake.js";
import type { MsgKind } from "./kinds.js";
import type { AllNotifications, AllRequests, NotificationKind, RequestKind } from "./services.js";

/** Messages that expect a Reply. */
export type Request = AllRequests[RequestKind]["req"];

/** Messages that get no reply. */
export type Notification = AllNotifications[NotificationKind];

/** Any message on the wire. */
export type Message = Reply | HandshakeMessage | Request | Notification;

/** The message type for a kind. */
export type MessageOf<K extends MsgKind> = Extract<Message, { t: K }>;

/** Any request as its sender writes it: the transport assigns `rid`. */
export type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, "rid"> : never) : never;
