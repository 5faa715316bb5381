/** The wire protocol: message kinds and shapes. See messages.ts for failure semantics. */
export * from "./messages.js";
