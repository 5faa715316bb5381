// The session root is per user and checked: a root owned by another user, writable
// by others, or a symlink is refused, so a planted `latest-head` cannot redirect
// `init({ address: "auto" })` or `tsray status`. A TCP head needs its secret: a
// driver that cannot find it is told where to get it, a wrong token is refused.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { removeTempDirs, tempDir } from "../helpers/temp.js";
import { cliEnv, isAlive, killPids, pollUntil, repoRoot, runCli } from "./helpers.js";

const leftovers = new Set<number>();
after(() => {
  killPids(leftovers);
  removeTempDirs();
});

/** Run a driver script (ESM, may `await`) with `TSRAY_SESSION_ROOT=root`; it prints one JSON line. */
function driver(
  code: string,
  root: string,
  extra: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const script = `import * as ray from "tsray";
let out;
try { ${code} } catch (e) { out = { code: e.code, name: e.name, message: e.message }; }
await ray.shutdown();
console.log(JSON.stringify(out));
process.exit(0);`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", script],
      { cwd: repoRoot, env: cliEnv(root, extra), timeout: 60_000 },
      (err, stdout, stderr) => {
        const line = stdout.trim().split("\n").pop() ?? "";
        try {
          resolve(JSON.parse(line) as Record<string, unknown>);
        } catch {
          reject(new Error(`driver printed no result (${String(err)}): ${stdout} ${stderr}`));
        }
      },
    );
  });
}

/** A process pretending to be a head: counts connections and hangs up on each. */
async function attacker(): Promise<{ address: string; connections: () => number }> {
  const address = join(tempDir("attacker"), "head.sock");
  let n = 0;
  const server = createServer((sock: Socket) => {
    n++;
    sock.destroy();
  });
  await new Promise<void>((resolve) => server.listen(address, resolve));
  chmodSync(address, 0o777);
  after(() => server.close());
  return { address, connections: () => n };
}

/** A session root holding a planted `latest-head` that points at `address`. */
function plantedRoot(address: string): string {
  const root = join(tempDir("planted"), "root");
  mkdirSync(root, { mode: 0o700 });
  writeFileSync(join(root, "latest-head"), `${address}\n`);
  writeFileSync(join(root, "latest-head.json"), JSON.stringify({ address, pid: 1, sessionDir: root }));
  return root;
}

describe("the session root", () => {
  const cases: Array<[string, (root: string) => string, RegExp]> = [
    [
      "owned by another user",
      (root) => {
        chownSync(root, 65534, 65534);
        return root;
      },
      /is owned by uid 65534, not by this user \(uid 0\)/,
    ],
    [
      "world-writable",
      (root) => {
        chmodSync(root, 0o777);
        return root;
      },
      /is writable by group or others \(mode 0777\)/,
    ],
    [
      "a symlink",
      (root) => {
        const link = `${root}-link`;
        symlinkSync(root, link);
        return link;
      },
      /is a symlink/,
    ],
  ];
  for (const [what, make, message] of cases) {
    test(`${what} is refused: init({ address: "auto" }) and tsray status never reach the planted head`, async () => {
      const fake = await attacker();
      const root = make(plantedRoot(fake.address));
      const out = await driver(`await ray.init({ address: "auto" }); out = { connected: true };`, root);
      assert.equal(out.code, "UNSAFE_DIRECTORY", JSON.stringify(out));
      assert.match(String(out.message), message);
      assert.match(String(out.message), /TSRAY_SESSION_ROOT/);
      const status = await runCli(["status"], root);
      assert.equal(status.code, 1, status.stdout);
      assert.match(status.stderr, message);
      assert.equal(fake.connections(), 0, "nothing dialed the planted address");
    });
  }
});

describe("a TCP head and its secret", () => {
  test("drivers elsewhere need TSRAY_AUTH_TOKEN: missing is explained, wrong is refused, right works", async () => {
    const headRoot = tempDir("tcp-head");
    const started = await runCli(["start", "--head", "--port", "0", "--num-cpus", "1"], headRoot);
    assert.equal(started.code, 0, started.stderr);
    const rec = JSON.parse(readFileSync(join(headRoot, "latest-head.json"), "utf8")) as {
      address: string;
      pid: number;
      sessionDir: string;
    };
    leftovers.add(rec.pid);
    const secretFile = join(rec.sessionDir, "secret");
    assert.ok(started.stdout.includes(secretFile), started.stdout);
    assert.match(started.stdout, /TSRAY_AUTH_TOKEN/);
    try {
      const elsewhere = tempDir("tcp-driver");
      const connect = `await ray.init({ address: ${JSON.stringify(rec.address)} }); out = { nodes: (await ray.nodes()).length };`;
      const missing = await driver(connect, elsewhere);
      assert.equal(missing.code, "AUTHENTICATION_FAILED", JSON.stringify(missing));
      assert.match(String(missing.message), /no session secret for the head at tcp:.*set TSRAY_AUTH_TOKEN/);

      const wrong = await driver(connect, elsewhere, { TSRAY_AUTH_TOKEN: "ab".repeat(32) });
      assert.equal(wrong.code, "AUTHENTICATION_FAILED", JSON.stringify(wrong));
      assert.match(String(wrong.message), /refused the connection: .*wrong token/);

      const malformed = await driver(connect, elsewhere, { TSRAY_AUTH_TOKEN: "secret" });
      assert.match(
        String(malformed.message),
        /TSRAY_AUTH_TOKEN does not hold a valid tsray token: expected at least 64 hex digits/,
      );

      const token = readFileSync(secretFile, "utf8").trim();
      const right = await driver(connect, elsewhere, { TSRAY_AUTH_TOKEN: token });
      assert.deepEqual(right, { nodes: 1 });

      // On the head's own machine and root, the record leads to the secret: no token needed.
      assert.deepEqual(await driver(connect, headRoot), { nodes: 1 });
    } finally {
      const stop = await runCli(["stop"], headRoot);
      assert.equal(stop.code, 0, stop.stderr);
      await pollUntil(() => !isAlive(rec.pid), 15_000, `head pid ${rec.pid} to exit`);
    }
  });
});
