// src/util's shared helpers, one copy each (issue 9, point 8): process liveness
// (zombies count as gone), bounded waits, byte counts. The zombie is real: a shell
// whose background child exits is replaced by `sleep`, which never reaps it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, test } from "node:test";
import { RuntimeUnavailableError } from "../../src/errors/index.js";
import { formatBytes, isAlive, withDeadline } from "../../src/util/index.js";
import { killPids } from "../helpers/processes.js";
import { makeZombie, procState } from "../helpers/zombie.js";

const spawned: number[] = [];
after(() => killPids(spawned));

test("isAlive: this process and a sleeping child run; a zombie and a reaped pid do not", async () => {
  assert.equal(isAlive(process.pid), true);
  const child = spawn("sleep", ["60"], { stdio: "ignore" });
  spawned.push(child.pid!);
  assert.equal(isAlive(child.pid!), true);
  const { pid: zombie, parent } = await makeZombie();
  spawned.push(parent);
  assert.equal(isAlive(zombie), false, `zombie ${zombie} (state ${procState(zombie)}) counted as alive`);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  assert.equal(isAlive(child.pid!), false, "a killed and reaped child counted as alive");
});

test("withDeadline: settles as the promise does, or rejects with RuntimeUnavailableError naming what", async () => {
  assert.equal(await withDeadline(Promise.resolve(7), 1000, "seven"), 7);
  await assert.rejects(withDeadline(Promise.reject(new TypeError("own")), 1000, "x"), TypeError);
  const t0 = Date.now();
  await assert.rejects(withDeadline(new Promise(() => undefined), 50, "the head's reply"), (err: Error) => {
    assert.ok(err instanceof RuntimeUnavailableError, `got ${err.constructor.name}`);
    assert.equal((err as RuntimeUnavailableError).code, "RUNTIME_UNAVAILABLE");
    assert.equal(err.message, "the head's reply: no answer within 50 ms");
    return true;
  });
  assert.ok(Date.now() - t0 >= 45, "rejected before its deadline");
});

test("formatBytes: exact for amounts, rounded for reading, both for error messages", () => {
  const MiB = 2 ** 20;
  assert.equal(formatBytes(2 * 2 ** 30), "2 GiB");
  assert.equal(formatBytes(1.5 * MiB), "1.5 MiB");
  assert.equal(formatBytes(MiB + 1), "1048577 bytes");
  assert.equal(formatBytes(512), "512 bytes");
  assert.equal(formatBytes(0), "0 bytes");
  assert.equal(formatBytes(2 ** 41), "2 TiB");
  assert.equal(formatBytes(12.5 * MiB + 3, "rounded"), "12.5 MiB");
  assert.equal(formatBytes(512, "rounded"), "512 bytes");
  assert.equal(formatBytes(64 * MiB + 64, "both"), "64.0 MiB (67108928 bytes)");
  assert.equal(formatBytes(100, "both"), "100 bytes");
});
