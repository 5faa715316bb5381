/**
 * Value serialization for everything that crosses a process boundary: see
 * docs/design/serialization.md.
 */
import "./errors.js";

export { decode, ExtType, encode, installExtension, noteContainedRef } from "./codec.js";
export { decodeError, encodeError } from "./errors.js";
export { registerSerializer, type Serializer } from "./registry.js";

import { decodeError, encodeError } from "./errors.js";
/** The ErrorCodec the transport uses for request failures. */
export const errorCodec = { encode: encodeError, decode: decodeError };
