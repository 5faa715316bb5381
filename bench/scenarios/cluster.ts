/**
 * Multi-node scenarios (issue 10). Each runs in a child process of its own, since the
 * benchmark's driver is already connected to its embedded cluster.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { register } from "../harness.js";

function child(script: string): Promise<{ perS: number }> {
  const file = fileURLToPath(new URL(`../cluster/${script}.js`, import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script}: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as { perS: number });
    });
  });
}

register({
  name: "tasks across 2 nodes async",
  unit: "per_s",
  run: async () => (await child("across-nodes")).perS,
});

register({
  name: "n:n actor calls across nodes async",
  unit: "per_s",
  run: async () => (await child("actors-across-nodes")).perS,
});
