/**
 * The session secret: 32 random bytes made by the head, kept as hex text in
 * `<session dir>/secret` (0600, in a 0700 directory). Every process of the session
 * reads it there and proves it in the handshake (see handshake.ts); it never
 * travels on the wire. See docs/design/security.md.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AuthenticationError, UnsafeDirectoryError } from "../errors/index.js";

/** File name of the secret inside a session directory. */
export const SECRET_FILE = "secret";

/** Bytes of a secret made by `createSecretFile`; tokens shorter than this are refused. */
export const SECRET_BYTES = 32;

/**
 * Make a new secret and write it to `<dir>/secret` with mode 0600. The file must
 * not exist yet (O_EXCL: a planted file or symlink is never followed or reused).
 * Returns the secret's bytes. With `secret`, writes that one (a worker node keeps its
 * cluster's secret in its own session directory, for its workers).
 */
export function createSecretFile(dir: string, secret: Buffer = randomBytes(SECRET_BYTES)): Buffer {
  writeFileSync(join(dir, SECRET_FILE), `${secret.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  return secret;
}

/**
 * The secret in `<dir>/secret`. Throws AuthenticationError when it is missing or
 * malformed, and UnsafeDirectoryError when it is a symlink, not a regular file,
 * owned by another user, or readable by group or others (it would not be secret).
 */
export function readSecretFile(dir: string): Buffer {
  const file = join(dir, SECRET_FILE);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP")
      throw new UnsafeDirectoryError(`the session secret ${file} is a symlink; refusing it`);
    throw new AuthenticationError(
      `no session secret found: cannot read ${file} (${code ?? String(err)}); ` +
        "is the head of this session running, and started by this user?",
    );
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile()) throw new UnsafeDirectoryError(`the session secret ${file} is not a regular file`);
    if (uid !== undefined && st.uid !== uid) {
      throw new UnsafeDirectoryError(
        `the session secret ${file} is owned by uid ${st.uid}, not by this user (uid ${uid}); refusing it`,
      );
    }
    if ((st.mode & 0o077) !== 0) {
      throw new UnsafeDirectoryError(
        `the session secret ${file} has mode 0${(st.mode & 0o777).toString(8)}; it must be 0600 (readable by its owner only)`,
      );
    }
    return parseToken(readFileSync(fd, "utf8"), file);
  } finally {
    closeSync(fd);
  }
}

/**
 * Parse a token (the hex text of a secret) from `source` (a file path or a
 * variable name, for the error message). Throws AuthenticationError unless it is
 * hex of at least SECRET_BYTES bytes.
 */
export function parseToken(text: string, source: string): Buffer {
  const hex = text.trim();
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex) || hex.length < SECRET_BYTES * 2) {
    throw new AuthenticationError(
      `${source} does not hold a valid tsray token: expected at least ${SECRET_BYTES * 2} hex digits ` +
        `(the content of a head's session secret file), got ${hex.length} characters`,
    );
  }
  return Buffer.from(hex, "hex");
}
