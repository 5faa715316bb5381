/** Framed, batched message channels over Unix sockets (and TCP): see docs/design/transport.md. */
export { Connection, type ErrorCodec, MAX_FRAME_BYTES, type MessageHandler } from "./connection.js";
export { type Address, Endpoint } from "./endpoint.js";
export { FrameDecoder } from "./frame-decoder.js";
