// How a process picks its backend: native when the addon loads, the fallback
// (automatically, with the reason) when it does not, and TSRAY_SHM_BACKEND overrides.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, test } from "node:test";
import { fileURLToPath } from "node:url";
import { findPackageRoot, getShmBackend } from "../../src/shm/index.js";
import { isRecord, nextMessage, REPO_ROOT, Resources } from "./fixtures/helpers.js";

const nativeAvailable = (() => {
  try {
    getShmBackend("native");
    return true;
  } catch {
    return false;
  }
})();

const res = new Resources();
afterEach(() => res.cleanup());

interface InfoReply {
  info: { kind: string; reason?: string; addonPath?: string } | null;
  code?: string;
  message?: string;
}

async function infoWith(env: NodeJS.ProcessEnv): Promise<InfoReply> {
  const child = res.fork(["info"], env);
  return nextMessage(child, (m): m is InfoReply => isRecord(m) && "info" in m);
}

test("the package root is found from src/shm (and would be from dist/shm)", () => {
  const here = dirname(fileURLToPath(import.meta.url));
  assert.equal(findPackageRoot(join(REPO_ROOT, "src", "shm")), REPO_ROOT.replace(/\/$/, ""));
  assert.equal(findPackageRoot(join(REPO_ROOT, "dist", "shm")), REPO_ROOT.replace(/\/$/, ""));
  assert.equal(findPackageRoot(here), REPO_ROOT.replace(/\/$/, ""));
});

test("default: native when the addon is built", { skip: !nativeAvailable }, async () => {
  const reply = await infoWith({ TSRAY_SHM_BACKEND: "" });
  assert.equal(reply.info?.kind, "native");
  assert.match(String(reply.info?.addonPath), /build\/Release\/tsray_shm\.node$/);
});

test("a missing addon falls back to the JS backend automatically, saying why", async () => {
  const reply = await infoWith({ TSRAY_SHM_BACKEND: "", TSRAY_SHM_ADDON: "/nonexistent/tsray_shm.node" });
  assert.equal(reply.info?.kind, "js-fallback");
  assert.match(String(reply.info?.reason), /\/nonexistent\/tsray_shm\.node does not exist/);
});

test("a broken addon file falls back too", async () => {
  const broken = join(tmpdir(), `tsray-broken-${process.pid}.node`);
  writeFileSync(broken, "not an ELF file");
  const reply = await infoWith({ TSRAY_SHM_BACKEND: "auto", TSRAY_SHM_ADDON: broken }).finally(() =>
    rmSync(broken, { force: true }),
  );
  assert.equal(reply.info?.kind, "js-fallback");
  assert.match(String(reply.info?.reason), /failed to load/);
});

test("TSRAY_SHM_BACKEND=js forces the fallback", async () => {
  const reply = await infoWith({ TSRAY_SHM_BACKEND: "js" });
  assert.equal(reply.info?.kind, "js-fallback");
  assert.match(String(reply.info?.reason), /TSRAY_SHM_BACKEND=js/);
});

test("TSRAY_SHM_BACKEND=native makes a missing addon an error", async () => {
  const reply = await infoWith({ TSRAY_SHM_BACKEND: "native", TSRAY_SHM_ADDON: "/nonexistent/x.node" });
  assert.equal(reply.info, null);
  assert.equal(reply.code, "ERR_SHM_NATIVE_UNAVAILABLE");
});

test("an unknown TSRAY_SHM_BACKEND value is rejected", async () => {
  const reply = await infoWith({ TSRAY_SHM_BACKEND: "mmap" });
  assert.equal(reply.info, null);
  assert.match(String(reply.message), /TSRAY_SHM_BACKEND="mmap" is not one of/);
});
