// The head process: control store and node manager behind one socket
// (docs/design/node-manager.md). Its entry point is main.ts; other components
// only need the configuration it is started with.

export { Head, type HeadConfig, type HeadDeps } from "./head.js";
