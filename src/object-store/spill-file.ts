import { open, unlink } from "node:fs/promises";

/**
 * Writes `bytes` as the whole content of a new file at `path`, or throws and leaves
 * no file behind. A write on a nearly full disk can be short without failing (the
 * next write gets ENOSPC), so writes loop until every byte is written: a spill
 * file is never silently truncated, and a failed one never holds disk space.
 */
export async function writeSpillFile(path: string, bytes: Uint8Array): Promise<void> {
  try {
    const fh = await open(path, "w");
    try {
      for (let at = 0; at < bytes.length; ) {
        const { bytesWritten } = await fh.write(bytes, at, bytes.length - at, at);
        at += bytesWritten;
      }
    } finally {
      await fh.close();
    }
  } catch (err) {
    await unlink(path).catch(() => undefined);
    throw err;
  }
}

/**
 * Reads the file at `path` into `target`, which must be exactly its size. Throws
 * (the Node error, its `code` intact: ENOENT for a file that is gone) when it cannot
 * be opened or read, and an Error saying how many bytes it holds when it is shorter.
 */
export async function readSpillFile(path: string, target: Uint8Array): Promise<void> {
  const fh = await open(path, "r");
  try {
    for (let at = 0; at < target.length; ) {
      const { bytesRead } = await fh.read(target, at, target.length - at, at);
      if (bytesRead === 0) throw new Error(`it holds ${at} of ${target.length} bytes`);
      at += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
