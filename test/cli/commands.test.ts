// The CLI's refusals and stubs: unsupported commands exit 2 with a clear message,
// bad options exit 2 naming the option, and commands without a head say so.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { runCli } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "tsray-cli-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("tsray CLI without a head", () => {
  test("start --address with no secret for that head says where to get one (exit 2)", async () => {
    const r = await runCli(["start", "--address", "127.0.0.1:6379"], root);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no session secret for the head at tcp:\/\/127\.0\.0\.1:6379.*--token/s);
  });

  test("start --address of a bad address names the valid forms (exit 2)", async () => {
    const r = await runCli(["start", "--address", "nope"], root);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--address must be "host:port"/);
  });

  test("start without --head or --address exits 2 and says what is needed", async () => {
    const r = await runCli(["start"], root);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--head/);
  });

  for (const cmd of ["dashboard", "timeline"]) {
    test(`${cmd} is not available yet (exit 2)`, async () => {
      const r = await runCli([cmd], root);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`tsray ${cmd}\` is not available yet`));
    });
  }

  test("bad start options exit 2 naming the option", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--port", "99999"], /--port/],
      [["--resources", "not json"], /--resources/],
      [["--resources", '{"CPU": 2}'], /numCpus/],
      [["--num-cpus", "-1"], /numCpus/],
      [["--num-gpus", "many"], /numGpus/],
      [["--labels", "zone=a"], /--labels must be a JSON object/],
      [["--labels", '{"zone": 1}'], /--labels\["zone"\] must be a non-empty string/],
      [["--labels", '{"zone": "a|b"}'], /without "\|"/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(["start", "--head", ...args], root);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  test("stop with no head running says so and exits 0", async () => {
    const r = await runCli(["stop"], root);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /no running tsray head/);
  });

  test("status with no head running exits 1 and tells how to start one", async () => {
    const r = await runCli(["status"], root);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tsray start --head/);
  });

  test("an unknown command exits 2", async () => {
    const r = await runCli(["frobnicate"], root);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command/);
  });

  // `microbenchmark --list` is tested in test/bench/bench.test.ts, with the other bench runs
  // (each rewrites dist-bench/, so they must not run in parallel test files).
});
