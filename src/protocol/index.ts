/**
 * The wire protocol: one module per service (kinds, messages with their failure
 * semantics, request->reply maps), the unions derived from them, and routers. See
 * docs/design/protocol.md.
 */
export * from "./actors.js";
export * from "./catalogue.js";
export * from "./common.js";
export * from "./control-store.js";
export * from "./fault-tolerance.js";
export * from "./handshake.js";
export * from "./kinds.js";
export * from "./node-manager.js";
export * from "./object-store.js";
export * from "./owner-worker.js";
export * from "./ref-counting.js";
export * from "./router.js";
export * from "./services.js";
