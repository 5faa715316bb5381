// Issue 16, point 1: what a node starts workers with. The node validates a driver's
// runtime strictly (only loader, cwd, jobId, namespace; loader from the enum; cwd an
// absolute path of a directory), derives the loader's flags itself, and a driver
// derives its loader from its own flags, saying which flags its workers will not get.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loaderOf } from "../../src/api/worker-loader.js";
import {
  loaderFlags,
  parseRegisterDriver,
  parseRuntime,
  runtimeKeyOf,
} from "../../src/node-manager/index.js";
import { expectAllDead, killPids, outputOf } from "../helpers/processes.js";

const dir = mkdtempSync(join(tmpdir(), "tsray-runtime-"));
const started: number[] = [];
after(() => {
  killPids(started);
  rmSync(dir, { recursive: true, force: true });
});
const file = join(dir, "a-file");
writeFileSync(file, "");
const valid = { loader: "tsx", cwd: dir, jobId: "0001", namespace: "default" };
const register = (runtime: unknown, extra: Record<string, unknown> = {}) =>
  parseRegisterDriver({ t: 40, rid: 1, jobId: "0001", runtime, embedded: false, ...extra });

/** Asserts `fn` throws the wire's bad-input error for `field`, its message matching `message`. */
function refuses(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (err: Error & { code?: string; field?: string }) => {
    assert.ok(err instanceof TypeError, String(err));
    assert.equal(err.code, "ERR_INVALID_ARG_VALUE");
    assert.equal(err.field, field, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe("RegisterDriver validation on the node", () => {
  test("a valid runtime passes as a copy of exactly its fields", () => {
    for (const loader of ["tsx", "strip-types", "none"]) {
      assert.deepEqual(register({ ...valid, loader }), { ...valid, loader });
    }
    assert.deepEqual(parseRuntime({ ...valid, cwd: "/" }, "HeadConfig"), { ...valid, cwd: "/" });
  });

  test("the loader is an enum: anything else names the field, the value and the valid values", () => {
    for (const loader of ["/bin/sh", "TSX", "--import", "", 1, null, undefined, ["tsx"]]) {
      refuses(
        () => register({ ...valid, loader }),
        "runtime.loader",
        /^RegisterDriver: runtime\.loader must be one of "tsx", "strip-types", "none", got /,
      );
    }
  });

  test("a path or argument list is no field: execPath, execArgv or anything unknown is refused", () => {
    refuses(
      () => register({ ...valid, execPath: "/bin/sh" }),
      "runtime.execPath",
      /runtime\.execPath is not accepted \(got "\/bin\/sh"\).*loader, cwd, jobId, namespace/,
    );
    refuses(() => register({ ...valid, execArgv: ["-c", "id"] }), "runtime.execArgv", /an array of 2/);
    refuses(() => register({ ...valid, env: {} }), "runtime.env", /not accepted/);
    refuses(() => register(valid, { execPath: "/bin/sh" }), "execPath", /t, rid, jobId, runtime, embedded/);
    refuses(() => register("tsx"), "runtime", /must be an object, got "tsx"/);
    refuses(() => register(valid, { embedded: "yes" }), "embedded", /boolean/);
  });

  test("cwd is an absolute, normalized path of an existing directory", () => {
    const bad: Array<[unknown, RegExp]> = [
      ["relative/dir", /absolute/],
      [`${dir}/../${dir.split("/").pop()}`, /normalized/],
      [`${dir}/`, /normalized/],
      [`${dir}\0x`, /NUL/],
      ["", /absolute/],
      [42, /got 42/],
      [join(dir, "missing"), /existing directory/],
      [file, /existing directory/],
    ];
    for (const [cwd, message] of bad) refuses(() => register({ ...valid, cwd }), "runtime.cwd", message);
  });

  test("jobId and namespace become worker environment: strings without NUL, bounded", () => {
    refuses(() => register({ ...valid, namespace: "a\0b" }), "runtime.namespace", /without NUL/);
    refuses(() => register({ ...valid, jobId: 7 }), "runtime.jobId", /got 7/);
    refuses(() => register({ ...valid, namespace: "n".repeat(1025) }), "runtime.namespace", /at most 1024/);
    refuses(() => register(valid, { jobId: undefined }), "jobId", /got undefined/);
  });

  test("the runtime key depends on loader and cwd only", () => {
    const a = runtimeKeyOf({ ...valid, loader: "tsx" });
    assert.equal(runtimeKeyOf({ ...valid, loader: "tsx", namespace: "other" }), a);
    assert.notEqual(runtimeKeyOf({ ...valid, loader: "none" }), a);
    assert.notEqual(runtimeKeyOf({ ...valid, loader: "tsx", cwd: "/" }), a);
  });
});

describe("loader flags, derived by the node", () => {
  test("tsx is the absolute loader of tsray's installation; none adds nothing", () => {
    const root = new URL("../../", import.meta.url);
    const tsx = pathToFileURL(createRequire(new URL("package.json", root)).resolve("tsx")).href;
    assert.ok(tsx.startsWith(new URL("node_modules/tsx/", root).href), tsx);
    assert.deepEqual(loaderFlags("tsx"), ["--import", tsx]);
    assert.deepEqual(loaderFlags("none"), []);
  });

  test("strip-types: on by default from 22.18 / 23.6, a flag from 22.6, refused before", () => {
    for (const v of ["22.18.0", "22.20.1", "23.6.0", "24.0.0", "25.1.0"])
      assert.deepEqual(loaderFlags("strip-types", v), []);
    for (const v of ["22.6.0", "22.17.1", "23.0.0", "23.5.0"]) {
      assert.deepEqual(loaderFlags("strip-types", v), ["--experimental-strip-types"]);
    }
    for (const v of ["20.20.2", "22.5.1", "18.0.0"]) {
      assert.throws(
        () => loaderFlags("strip-types", v),
        (err: Error & { code?: string }) =>
          err.code === "RUNTIME_UNAVAILABLE" &&
          err.message.includes(`runs Node ${v}`) &&
          /tsx/.test(err.message),
      );
    }
  });
});

describe("the driver's loader, from its own flags", () => {
  const cases: Array<[string[], unknown, string, string[]]> = [
    [["--import", "tsx"], false, "tsx", []],
    [["--import=tsx"], "strip", "tsx", []],
    [["--loader", "tsx/esm"], false, "tsx", []],
    // The tsx CLI preloads by absolute paths into its installation.
    [
      [
        "--require",
        "/p/node_modules/tsx/dist/preflight.cjs",
        "--import",
        "file:///p/node_modules/tsx/dist/loader.mjs",
      ],
      false,
      "tsx",
      [],
    ],
    // The test runner's and debugger's flags are dropped without a word.
    [["--import", "tsx", "--test", "--test-concurrency=1", "--inspect=0"], false, "tsx", []],
    [[], "strip", "strip-types", []],
    [["--experimental-strip-types"], "strip", "strip-types", []],
    [["--no-experimental-strip-types"], false, "none", []],
    [[], false, "none", []],
    [["--expose-gc"], false, "none", []],
    // What no loader explains stays behind, and is reported as written.
    [["--import", "./setup.mjs", "--import", "tsx"], false, "tsx", ["--import ./setup.mjs"]],
    [
      ["--import=./otel.mjs", "--max-old-space-size=4096"],
      false,
      "none",
      ["--import=./otel.mjs", "--max-old-space-size=4096"],
    ],
    [
      ["-r", "ts-node/register", "--enable-source-maps"],
      false,
      "none",
      ["-r ts-node/register", "--enable-source-maps"],
    ],
    [["--experimental-transform-types"], "transform", "strip-types", ["--experimental-transform-types"]],
  ];
  for (const [argv, typescript, loader, ignored] of cases) {
    test(`${JSON.stringify(argv)} (typescript: ${String(typescript)}) -> ${loader}`, () => {
      assert.deepEqual(loaderOf(argv, typescript), { loader, ignored });
    });
  }
});

describe("a driver's own node flags", () => {
  test("reach no worker: the driver warns; the node's TSRAY_WORKER_EXTRA_ARGV does reach them", async () => {
    const driver = fileURLToPath(new URL("../fixtures/flags-driver.ts", import.meta.url));
    const env: NodeJS.ProcessEnv = { ...process.env, TSRAY_WORKER_EXTRA_ARGV: "--max-semi-space-size=2" };
    delete env.NODE_TEST_CONTEXT;
    // Its own tsx by absolute URL (as the tsx CLI does): a bare one resolves from the cwd.
    const child = spawn(process.execPath, [...loaderFlags("tsx"), "--max-old-space-size=300", driver], {
      cwd: dir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    started.push(child.pid!);
    const { code, out, err } = await outputOf(child, 60_000, "the driver with its own flags to finish");
    assert.equal(code, 0, `driver failed: ${err}`);
    const report = JSON.parse(out.trim()) as {
      execArgv: string[];
      cwd: string;
      pid: number;
      headPid: number;
    };
    started.push(report.pid, report.headPid);
    assert.match(err, /workers do not get these node flags of this driver: --max-old-space-size=300\./);
    assert.match(err, /the loader "tsx"/);
    assert.equal(report.execArgv.includes("--max-old-space-size=300"), false, report.execArgv.join(" "));
    assert.ok(report.execArgv.includes("--max-semi-space-size=2"), report.execArgv.join(" "));
    assert.deepEqual(report.execArgv.slice(0, 2), loaderFlags("tsx"));
    assert.equal(report.cwd, dir);
    await expectAllDead([report.pid, report.headPid], 10_000);
  });
});
