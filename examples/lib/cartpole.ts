/**
 * CartPole, the classic control problem (Barto, Sutton & Anderson 1983) with the
 * dynamics of OpenAI Gym's CartPole-v1: a pole hinged on a cart that moves along a
 * frictionless track; each step pushes the cart left (action 0) or right (action 1)
 * with a fixed force. Reward 1 per step; the episode ends when the cart leaves
 * |x| <= 2.4 or the pole tilts past 12 degrees (or after `maxSteps`).
 *
 * A plain stateful class: examples/lib/gym.ts wraps it in an actor.
 */
import { rng } from "./random.js";

/** [cart position, cart velocity, pole angle (rad), pole angular velocity]. */
export type Observation = [x: number, xDot: number, theta: number, thetaDot: number];

export interface StepResult {
  observation: Observation;
  reward: number;
  done: boolean;
}

export class CartPole {
  static readonly gravity = 9.8;
  static readonly massCart = 1.0;
  static readonly massPole = 0.1;
  static readonly totalMass = CartPole.massPole + CartPole.massCart;
  /** Half the pole's length. */
  static readonly length = 0.5;
  static readonly poleMassLength = CartPole.massPole * CartPole.length;
  static readonly forceMag = 10.0;
  /** Seconds between state updates. */
  static readonly tau = 0.02;
  static readonly thetaThreshold = (12 * 2 * Math.PI) / 360;
  static readonly xThreshold = 2.4;

  private state: Observation = [0, 0, 0, 0];
  private readonly random: () => number;
  private steps = 0;
  private done = true;

  constructor(
    seed = 0,
    readonly maxSteps = 500,
  ) {
    this.random = rng(seed);
  }

  /** Start an episode: every state variable uniform in [-0.05, 0.05]. */
  reset(): Observation {
    this.state = [0, 0, 0, 0].map(() => this.random() * 0.1 - 0.05) as Observation;
    this.steps = 0;
    this.done = false;
    return [...this.state];
  }

  /** Push the cart left (0) or right (1) for one time step (explicit Euler integration). */
  step(action: number): StepResult {
    if (action !== 0 && action !== 1) throw new RangeError(`action must be 0 or 1, got ${action}`);
    if (this.done) throw new Error("step() called on a finished episode; call reset() first");
    const C = CartPole;
    let [x, xDot, theta, thetaDot] = this.state;
    const force = action === 1 ? C.forceMag : -C.forceMag;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const temp = (force + C.poleMassLength * thetaDot * thetaDot * sin) / C.totalMass;
    const thetaAcc =
      (C.gravity * sin - cos * temp) / (C.length * (4 / 3 - (C.massPole * cos * cos) / C.totalMass));
    const xAcc = temp - (C.poleMassLength * thetaAcc * cos) / C.totalMass;
    x += C.tau * xDot;
    xDot += C.tau * xAcc;
    theta += C.tau * thetaDot;
    thetaDot += C.tau * thetaAcc;
    this.state = [x, xDot, theta, thetaDot];
    this.steps++;
    this.done =
      x < -C.xThreshold ||
      x > C.xThreshold ||
      theta < -C.thetaThreshold ||
      theta > C.thetaThreshold ||
      this.steps >= this.maxSteps;
    return { observation: [...this.state], reward: 1, done: this.done };
  }
}

/** Gym's `make`: the environments this module knows by name. */
export function make(name: string, seed = 0): CartPole {
  if (name === "CartPole-v1") return new CartPole(seed, 500);
  if (name === "CartPole-v0") return new CartPole(seed, 200);
  throw new Error(`unknown environment "${name}" (known: CartPole-v0, CartPole-v1)`);
}
