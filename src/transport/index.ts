/** Framed, batched, authenticated message channels over Unix sockets (and TCP), or over an in-memory network: see docs/design/transport.md and security.md. */
export { Connection, type ErrorCodec, MAX_FRAME_BYTES, type MessageHandler } from "./connection.js";
export { type Address, Endpoint, type EndpointOptions } from "./endpoint.js";
export { FrameDecoder } from "./frame-decoder.js";
export { PRE_AUTH_MAX_FRAME_BYTES } from "./handshake.js";
export { notServed } from "./kinds.js";
export type { Dialer, Link, LinkHandlers, Listener, Network } from "./link.js";
export { type FrameInfo, MemoryNetwork, type MemoryNetworkOptions } from "./memory-network.js";
export { createSecretFile, parseToken, readSecretFile, SECRET_BYTES, SECRET_FILE } from "./secret.js";
export { SocketLink, socketNetwork } from "./socket-network.js";
