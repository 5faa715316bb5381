// The session secret file: made 0600 and never over an existing file or symlink;
// read back only when it is a regular file of this user that nobody else can read;
// tokens must be long enough hex. Every refusal says what and where.
import assert from "node:assert/strict";
import { chmodSync, chownSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { AuthenticationError, UnsafeDirectoryError } from "../../src/errors/index.js";
import { createSecretFile, parseToken, readSecretFile } from "../../src/transport/index.js";
import { removeTempDirs, tempDir } from "../helpers/temp.js";

after(removeTempDirs);

describe("session secret file", () => {
  test("createSecretFile writes 32 random bytes as hex, mode 0600, and reads back the same", () => {
    const dir = tempDir("secret");
    const secret = createSecretFile(dir);
    assert.equal(secret.length, 32);
    const file = join(dir, "secret");
    assert.equal((statSync(file).mode & 0o777).toString(8), "600");
    assert.equal(readFileSync(file, "utf8").trim(), secret.toString("hex"));
    assert.deepEqual(readSecretFile(dir), secret);
    assert.notDeepEqual(createSecretFile(tempDir("secret")), secret, "a new secret per session");
  });

  test("createSecretFile refuses an existing file or a planted symlink", () => {
    const dir = tempDir("secret");
    const elsewhere = join(tempDir("secret"), "target");
    writeFileSync(elsewhere, "mine");
    symlinkSync(elsewhere, join(dir, "secret"));
    assert.throws(() => createSecretFile(dir), /EEXIST/);
    assert.equal(readFileSync(elsewhere, "utf8"), "mine", "the symlink's target was not written");
  });

  test("readSecretFile refuses a missing, symlinked, foreign-owned, group-readable or malformed secret", () => {
    const missing = tempDir("secret");
    assert.throws(
      () => readSecretFile(missing),
      (err: unknown) =>
        err instanceof AuthenticationError &&
        /no session secret found: cannot read .*secret \(ENOENT\)/.test(err.message),
    );

    const linked = tempDir("secret");
    createSecretFile(tempDir("secret"));
    const real = join(tempDir("secret"), "real");
    writeFileSync(real, `${"ab".repeat(32)}\n`, { mode: 0o600 });
    symlinkSync(real, join(linked, "secret"));
    assert.throws(
      () => readSecretFile(linked),
      (err: unknown) => err instanceof UnsafeDirectoryError && /symlink/.test(err.message),
    );

    const foreign = tempDir("secret");
    createSecretFile(foreign);
    chownSync(join(foreign, "secret"), 65534, 65534);
    assert.throws(
      () => readSecretFile(foreign),
      (err: unknown) =>
        err instanceof UnsafeDirectoryError && /owned by uid 65534, not by this user/.test(err.message),
    );

    const open = tempDir("secret");
    createSecretFile(open);
    chmodSync(join(open, "secret"), 0o640);
    assert.throws(
      () => readSecretFile(open),
      (err: unknown) =>
        err instanceof UnsafeDirectoryError && /has mode 0640; it must be 0600/.test(err.message),
    );

    const bad = tempDir("secret");
    writeFileSync(join(bad, "secret"), "not hex at all\n", { mode: 0o600 });
    assert.throws(
      () => readSecretFile(bad),
      (err: unknown) =>
        err instanceof AuthenticationError && /does not hold a valid tsray token/.test(err.message),
    );
  });

  test("parseToken takes 64+ hex digits (surrounding whitespace ignored) and names its source otherwise", () => {
    assert.deepEqual(parseToken(` ${"0f".repeat(32)}\n`, "X"), Buffer.alloc(32, 0x0f));
    for (const bad of ["", "abc", "0f".repeat(31), `${"0f".repeat(32)}z`, "0".repeat(65)]) {
      assert.throws(
        () => parseToken(bad, "TSRAY_AUTH_TOKEN"),
        (err: unknown) =>
          err instanceof AuthenticationError &&
          /^TSRAY_AUTH_TOKEN does not hold a valid tsray token: expected at least 64 hex digits/.test(
            err.message,
          ),
        JSON.stringify(bad),
      );
    }
  });
});
