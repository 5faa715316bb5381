/**
 * The seed document's GymEnvironment: an actor that encapsulates the mutable state
 * of a simulator (here CartPole, from ./cartpole.ts, standing in for gym.make).
 */
import * as ray from "tsray";
import { make, type Observation, type StepResult } from "./cartpole.js";

export const GymEnvironment = ray.remote(
  class GymEnvironment {
    readonly env;

    constructor(name: string, seed: number) {
      this.env = make(name, seed);
      this.env.reset();
    }

    step(action: number): StepResult {
      return this.env.step(action);
    }

    reset(): Observation {
      return this.env.reset();
    }

    /** Which process holds this simulator (to show that each environment has its own). */
    pid(): number {
      return process.pid;
    }
  },
);
