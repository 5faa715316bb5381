import type { Redis } from "ioredis";
import { RuntimeUnavailableError } from "../errors/index.js";
import type { StorageBackend } from "./backend.js";

/** How a Redis backend connects. */
export interface RedisBackendOptions {
  /** Key prefix: table `t` is the hash `<prefix>:<t>` (default "tsray"), so one Redis can hold several clusters. */
  readonly prefix?: string;
  /** How long connecting may take before it fails (default 5 s). */
  readonly connectTimeoutMs?: number;
}

/** `redis://[user:password@]host[:port][/db]` or `rediss://` (TLS); anything else is refused, naming it. */
export function parseRedisUrl(url: unknown): URL {
  const bad = (why: string): TypeError =>
    new TypeError(
      `store: ${JSON.stringify(url)} is not a Redis URL (${why}); expected redis://host:port[/db] or rediss://... (TLS), e.g. redis://127.0.0.1:6379/0`,
    );
  if (typeof url !== "string" || url === "") throw bad("empty");
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad("not a URL");
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw bad(`scheme ${u.protocol}`);
  if (!u.hostname) throw bad("no host");
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) throw bad(`database ${JSON.stringify(db)} is not a number`);
  return u;
}

/** The URL as it may be shown (the password hidden). */
function shown(u: URL): string {
  const c = new URL(u.href);
  if (c.password) c.password = "***";
  return c.href;
}

/**
 * The control store's tables in Redis (the durable head, issue 11): one hash per
 * table, values as raw bytes. Every operation is one Redis command, so each is atomic
 * (`put` without overwrite is HSETNX). Uses ioredis, loaded only when a Redis store is
 * configured.
 *
 * Failure: connecting fails within `connectTimeoutMs` with RuntimeUnavailableError
 * naming the URL (password hidden) and the cause; a command while Redis is away waits
 * for ioredis's reconnection (its offline queue) and fails when that gives up.
 */
export class RedisBackend implements StorageBackend {
  private constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  /** Connect to the Redis at `url` (see {@link parseRedisUrl}); resolves once it answers PING. */
  static async connect(url: string, opts: RedisBackendOptions = {}): Promise<RedisBackend> {
    const u = parseRedisUrl(url);
    const { Redis } = await import("ioredis");
    const timeout = opts.connectTimeoutMs ?? 5_000;
    const client = new Redis(u.href, {
      lazyConnect: true,
      connectTimeout: timeout,
      maxRetriesPerRequest: 3,
      // Connecting is bounded by the caller; reconnect later with a capped backoff.
      retryStrategy: (times) => Math.min(times * 100, 2_000),
    });
    client.on("error", () => undefined); // reported through the failing commands
    try {
      await Promise.race([
        client.connect().then(() => client.ping()),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout).unref(),
        ),
      ]);
    } catch (err) {
      client.disconnect();
      throw new RuntimeUnavailableError(
        `cannot reach the Redis store at ${shown(u)}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return new RedisBackend(client, opts.prefix ?? "tsray");
  }

  private key(table: string): string {
    return `${this.prefix}:${table}`;
  }

  async get(table: string, key: string): Promise<Uint8Array | undefined> {
    const v = await this.client.hgetBuffer(this.key(table), key);
    return v ?? undefined;
  }

  async put(table: string, key: string, value: Uint8Array, overwrite: boolean): Promise<boolean> {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (overwrite) {
      await this.client.hset(this.key(table), key, bytes);
      return true;
    }
    return (await this.client.hsetnx(this.key(table), key, bytes)) === 1;
  }

  async delete(table: string, key: string): Promise<boolean> {
    return (await this.client.hdel(this.key(table), key)) > 0;
  }

  async keys(table: string): Promise<string[]> {
    return this.client.hkeys(this.key(table));
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
