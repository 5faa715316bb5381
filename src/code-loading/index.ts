/** Finding remote functions and classes in worker processes: see docs/design/code-loading.md. */
export { callerModuleUrl, entryModuleUrl, isEntryModule } from "./caller.js";
export { freeVariables } from "./free-variables.js";
export { loadedTarget, loadTarget } from "./loader.js";
export {
  importMark,
  importModule,
  loadedModule,
  loadedModules,
  settledSince,
  trackModule,
} from "./namespaces.js";
export { defineRemoteTarget, lookupRegistered } from "./registry.js";
