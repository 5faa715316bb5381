import { config } from "../config/index.js";

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

function threshold(): number {
  const l = config().logLevel as Level;
  return LEVELS[l] ?? LEVELS.warn;
}

function emit(level: Level, msg: string): void {
  if (LEVELS[level] < threshold()) return;
  process.stderr.write(`[tsray ${level} pid=${process.pid}] ${msg}\n`);
}

/** tsray's own diagnostics on stderr, filtered by TSRAY_LOG_LEVEL. */
export const log = {
  debug: (m: string) => emit("debug", m),
  info: (m: string) => emit("info", m),
  warn: (m: string) => emit("warn", m),
  error: (m: string) => emit("error", m),
};
