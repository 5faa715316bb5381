// Session directories of dead drivers are swept when the next driver creates its
// own (src/api/session.ts). A driver that exited but was never reaped (a zombie:
// its parent is gone or ignores it) is dead: its directory goes too.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { killPids } from "../helpers/processes.js";
import { removeTempDirs, tempDir } from "../helpers/temp.js";
import { makeZombie } from "../helpers/zombie.js";

// Before src/ is loaded (settings are read once): a private session root.
const root = tempDir("session-dirs");
process.env.TSRAY_SESSION_ROOT = root;
const { createSessionDir } = await import("../../src/api/index.js");

const parents: number[] = [];
after(() => {
  killPids(parents);
  removeTempDirs();
});

test("createSessionDir removes the directories of dead and zombie drivers, keeps live ones", async () => {
  const { pid: zombie, parent } = await makeZombie();
  parents.push(parent); // alive: it is sleeping
  const ofZombie = join(root, `session-1-${zombie}`);
  const ofLive = join(root, `session-2-${parent}`);
  const ofSelf = join(root, `session-3-${process.pid}`);
  for (const d of [ofZombie, ofLive, ofSelf]) mkdirSync(d, { mode: 0o700 });
  const mine = createSessionDir();
  try {
    assert.equal(existsSync(ofZombie), false, `the zombie driver's (pid ${zombie}) directory was kept`);
    assert.equal(existsSync(ofLive), true, "a live driver's directory was removed");
    assert.equal(existsSync(ofSelf), true, "this driver's own directory was removed");
    assert.match(mine, new RegExp(`session-\\d+-${process.pid}$`));
  } finally {
    rmSync(mine, { recursive: true, force: true });
  }
});
