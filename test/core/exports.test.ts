// SPEC §1-2: the package's exports as users import them (the bundled dist/, through
// package.json "exports"): both import styles, and class names equal to their export
// names (bundlers rename classes whose bodies name themselves; names are API).
import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import ray, * as rayNs from "tsray";

test('`import ray from "tsray"` and `import * as ray` give the same API', () => {
  for (const key of ["init", "shutdown", "remote", "get", "put", "wait", "kill", "getActor", "ObjectRef"]) {
    assert.equal(typeof (rayNs as Record<string, unknown>)[key], "function", `namespace lacks ${key}`);
    assert.equal(
      (ray as unknown as Record<string, unknown>)[key],
      (rayNs as Record<string, unknown>)[key],
      key,
    );
  }
});

test("every exported class is named as it is exported", () => {
  const classes = Object.entries(rayNs).filter(
    ([key, v]) => typeof v === "function" && /^[A-Z]/.test(key) && v.prototype !== undefined,
  );
  assert.ok(
    classes.length >= 15,
    `expected the error classes, ObjectRef and ActorHandle; got ${classes.length}`,
  );
  for (const [key, cls] of classes) assert.equal((cls as Function).name, key, `${key}.name`);
  const err = new rayNs.RayTaskError("boom");
  assert.equal(err.name, "RayTaskError");
  assert.match(inspect(new rayNs.RayError("x")), /^RayError: x/);
});
