/**
 * Ray's actor documentation, "A More Interesting Actor Example": actors that
 * encapsulate stateful simulators. Four CartPole environments, each in its own actor
 * process, are stepped in parallel: one step on every live environment per round,
 * the observations come back together, a policy picks the next actions.
 *
 *   node --import tsx examples/gym-environment.ts
 */
import * as ray from "tsray";
import type { Observation } from "./lib/cartpole.js";
import { GymEnvironment } from "./lib/gym.js";
import { rng } from "./lib/random.js";

type Policy = (obs: Observation) => number;

const coin = rng(42);
const policies: Record<string, Policy> = {
  // Push left or right at random.
  random: () => (coin() < 0.5 ? 0 : 1),
  // Push the cart under the pole: towards the side it leans and falls to.
  "lean-following": ([, , theta, thetaDot]) => (theta + 0.5 * thetaDot > 0 ? 1 : 0),
};

const NUM_ENVS = 4;
await ray.init();
try {
  const envs = Array.from({ length: NUM_ENVS }, (_, i) => GymEnvironment.remote("CartPole-v1", 1000 + i));
  const pids: number[] = await ray.get(envs.map((e) => e.pid.remote()));
  console.log(`${NUM_ENVS} CartPole-v1 environments, in processes ${pids.join(", ")}`);

  const mean: Record<string, number> = {};
  for (const [name, policy] of Object.entries(policies)) {
    let obs: Observation[] = await ray.get(envs.map((e) => e.reset.remote()));
    const lengths = new Array<number>(NUM_ENVS).fill(0);
    let live = envs.map((_, i) => i);
    while (live.length > 0) {
      // One step on every live environment, all in parallel.
      const results = await ray.get(live.map((i) => envs[i]!.step.remote(policy(obs[i]!))));
      const still: number[] = [];
      results.forEach((r, k) => {
        const i = live[k]!;
        lengths[i]! += r.reward;
        obs[i] = r.observation;
        if (!r.done) still.push(i);
      });
      live = still;
    }
    obs = [];
    mean[name] = lengths.reduce((a, b) => a + b, 0) / NUM_ENVS;
    console.log(`policy ${name}: episode lengths ${JSON.stringify(lengths)} (mean ${mean[name]})`);
  }
  if (!(mean["lean-following"]! > mean.random!))
    throw new Error("the simple policy should beat random actions");
  console.log("the lean-following policy balances the pole longer than random actions");
} finally {
  await ray.shutdown();
}
