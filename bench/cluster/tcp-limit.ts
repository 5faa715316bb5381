/**
 * Child process of `tcp loopback throughput one way`: the limit the node-to-node
 * transfer runs against. Like limits.mjs's `socket throughput one way` (a Unix socket),
 * but over TCP on 127.0.0.1, as nodes talk: a forked sender writes 1 GiB in 1 MiB
 * chunks (one source buffer, no copies in JS), this process counts the bytes. Prints
 * `{ perS }` in GB/s.
 */
import { fork } from "node:child_process";
import { createConnection, createServer } from "node:net";
import { fileURLToPath } from "node:url";

const GiB = 1 << 30;
const CHUNK = 1 << 20;

if (process.argv[2] === "send") {
  const s = createConnection(Number(process.argv[3]), "127.0.0.1", () => {
    s.setNoDelay(true);
    const src = Buffer.alloc(GiB, 1);
    let sent = 0;
    const pump = (): void => {
      while (sent < GiB) {
        const part = src.subarray(sent, sent + CHUNK);
        sent += CHUNK;
        if (!s.write(part)) {
          s.once("drain", pump);
          return;
        }
      }
    };
    pump();
  });
} else {
  const server = createServer((c) => {
    let got = 0;
    let t0 = 0;
    c.on("data", (d: Buffer) => {
      if (got === 0) t0 = performance.now();
      got += d.length;
      if (got < GiB) return;
      const perS = (GiB - d.length) / ((performance.now() - t0) / 1000) / 1e9;
      process.stdout.write(`${JSON.stringify({ perS })}\n`);
      c.destroy();
      server.close();
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const addr = server.address();
    const port = typeof addr === "object" && addr ? addr.port : 0;
    fork(fileURLToPath(import.meta.url), ["send", String(port)]);
  });
}
