import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { config } from "../config/index.js";
import { AuthenticationError, UnsafeDirectoryError } from "../errors/index.js";
import { parseToken, readSecretFile, SECRET_FILE } from "../transport/index.js";
import { isAlive } from "../util/index.js";

/**
 * Root directory of session directories (sockets, secrets, logs, head records):
 * TSRAY_SESSION_ROOT, or `<tmpdir>/tsray-<uid>`, one per user. Created 0700 when
 * missing. Throws UnsafeDirectoryError when it is a symlink, not a directory, owned
 * by another user or group/world-writable: another user could then plant a
 * `latest-head` there and redirect `init({ address: "auto" })` to their process.
 */
export function sessionRoot(): string {
  const uid = process.getuid?.();
  const root = config().sessionRoot || join(tmpdir(), `tsray-${uid ?? "user"}`);
  const what = config().sessionRoot
    ? `the session root ${root} (TSRAY_SESSION_ROOT)`
    : `the session root ${root}`;
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const st = lstatSync(root);
  if (st.isSymbolicLink()) throw new UnsafeDirectoryError(`${what} is a symlink; refusing to use it`);
  if (!st.isDirectory()) throw new UnsafeDirectoryError(`${what} is not a directory`);
  if (uid !== undefined && st.uid !== uid) {
    throw new UnsafeDirectoryError(
      `${what} is owned by uid ${st.uid}, not by this user (uid ${uid}); refusing to use it. ` +
        "Remove it, or set TSRAY_SESSION_ROOT to a directory of your own",
    );
  }
  if ((st.mode & 0o022) !== 0) {
    throw new UnsafeDirectoryError(
      `${what} is writable by group or others (mode 0${(st.mode & 0o777).toString(8)}); ` +
        `refusing to use it: \`chmod 700 ${root}\` or choose another TSRAY_SESSION_ROOT`,
    );
  }
  return root;
}

/**
 * The session secret for dialing the head at `address`: the secret file in the
 * directory of a Unix socket; for a TCP address, the file of the head recorded by
 * `tsray start --head` in the session root when its address matches, or of a node
 * started by `tsray start --address` (its `node-*` directory) whose address matches;
 * otherwise TSRAY_AUTH_TOKEN. Throws AuthenticationError saying where it looked.
 */
export function secretForAddress(address: string): Buffer {
  const token = config().authToken;
  let dir: string | undefined;
  if (!address.startsWith("tcp://")) dir = dirname(address);
  else {
    const record = join(sessionRoot(), "latest-head.json");
    try {
      // The record of src/cli/head-files.ts; only address and sessionDir matter here.
      const rec = JSON.parse(readFileSync(record, "utf8")) as { address?: unknown; sessionDir?: unknown };
      if (
        typeof rec.address === "string" &&
        sameListener(rec.address, address) &&
        typeof rec.sessionDir === "string"
      )
        dir = rec.sessionDir;
    } catch {
      // No record: a node's, or the token.
    }
    dir ??= recordedNodeDir(address);
    if (dir === undefined && !token) {
      throw new AuthenticationError(
        `no session secret for the head at ${address}: it is not the head recorded in ${record}; ` +
          `set TSRAY_AUTH_TOKEN to the content of the ${SECRET_FILE} file in that head's session directory`,
      );
    }
  }
  if (dir !== undefined && (!token || existsSync(join(dir, SECRET_FILE)))) return readSecretFile(dir);
  return parseToken(token, "TSRAY_AUTH_TOKEN");
}

/** This machine's own addresses (loopback, every interface's). */
function localHosts(): Set<string> {
  const out = new Set(["127.0.0.1", "localhost", "0.0.0.0", "::1"]);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

/**
 * Whether `dialed` reaches the listener recorded as `recorded`: the same address, or
 * the same TCP port at an address of this machine (a head advertised at 10.0.0.1:6380
 * is dialed as 127.0.0.1:6380 from its own machine).
 */
function sameListener(recorded: string, dialed: string): boolean {
  if (recorded === dialed) return true;
  const a = /^tcp:\/\/(.+):(\d+)$/.exec(recorded);
  const b = /^tcp:\/\/(.+):(\d+)$/.exec(dialed);
  if (!a || !b || a[2] !== b[2]) return false;
  const local = localHosts();
  return local.has(a[1]!) && local.has(b[1]!);
}

/**
 * The session directory of the head or node recorded on this machine with that address:
 * `head-*` or `node-*` directories of the session root holding `head.json` / `node.json`
 * (written by the CLI and by the testing Cluster).
 */
function recordedNodeDir(address: string): string | undefined {
  const root = sessionRoot();
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => n.startsWith("node-") || n.startsWith("head-"));
  } catch {
    return undefined;
  }
  for (const name of names) {
    try {
      const file = join(root, name, name.startsWith("node-") ? "node.json" : "head.json");
      const rec = JSON.parse(readFileSync(file, "utf8")) as { address?: unknown };
      if (typeof rec.address === "string" && sameListener(rec.address, address)) return join(root, name);
    } catch {
      // Not a complete node record.
    }
  }
  return undefined;
}

/**
 * A new session directory, named after this driver's pid. Directories left by
 * drivers that died without shutdown() are removed on the way.
 */
export function createSessionDir(): string {
  const root = sessionRoot();
  mkdirSync(root, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(root)) {
    const m = /^session-\d+-(\d+)$/.exec(name);
    if (m && !isAlive(Number(m[1]))) rmSync(join(root, name), { recursive: true, force: true });
  }
  let dir: string;
  let n = 0;
  do dir = join(root, `session-${Date.now() + n++}-${process.pid}`);
  while (existsSync(dir));
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/**
 * GPUs of this machine: CUDA_VISIBLE_DEVICES when set, else what `nvidia-smi -L` lists (none if absent).
 * child_process is imported here, not at the top: workers load this module but never
 * detect GPUs, and every built-in module they load adds to each worker's memory.
 */
export async function detectGpus(): Promise<number[]> {
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined && visible.trim() !== "") {
    const ids = visible.split(",").map((s) => Number(s.trim()));
    if (ids.every((n) => Number.isInteger(n) && n >= 0)) return ids;
  }
  const { execFileSync } = await import("node:child_process");
  try {
    const out = execFileSync("nvidia-smi", ["-L"], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    return out
      .split("\n")
      .map((l) => /^GPU (\d+):/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
  } catch {
    return [];
  }
}
