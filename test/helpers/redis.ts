/**
 * A real redis-server for tests (issue 11): on a free loopback port, with a data
 * directory of its own, stopped by pid. `.ci/run` installs the Debian package; where
 * the binary is missing outside CI, `redisSkip()` says why the tests are skipped.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createConnection, createServer } from "node:net";
import { expectAllDead, pollUntil } from "./processes.js";
import { tempDir } from "./temp.js";

/** Why Redis tests cannot run here (undefined: they can). In CI a missing redis-server is a failure, not a skip. */
export function redisSkip(): string | undefined {
  const found = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
  if (found) return undefined;
  if (process.env.CI)
    throw new Error("redis-server is not installed: .ci/run must install the Debian package");
  return "redis-server is not installed (apt-get install redis-server)";
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const addr = srv.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A running redis-server: its URL, pid and data directory. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  /** SIGKILL it and wait until the pid is gone. */
  stop(): Promise<void>;
}

/** Start redis-server (append-only persistence on, in its own directory) and wait until it accepts connections. */
export async function startRedis(dir = tempDir("redis")): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--save", ""],
    { stdio: "ignore" },
  );
  const pid = child.pid!;
  await pollUntil(
    () =>
      new Promise<boolean>((resolve) => {
        const s = createConnection(port, "127.0.0.1", () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      }),
    10_000,
    `redis-server on port ${port} accepting connections`,
    50,
  );
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    pid,
    dir,
    stop: async () => {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
      await expectAllDead([pid], 10_000);
    },
  };
}
