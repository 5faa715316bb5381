import { RuntimeUnavailableError } from "../errors/index.js";

/**
 * Settles as `p` does, or rejects with RuntimeUnavailableError
 * ("<what>: no answer within <ms> ms") once `ms` milliseconds pass first. The timer
 * is cleared either way, so a settled call leaves nothing holding the event loop.
 * `p` itself is not cancelled: the caller closes whatever it was waiting on.
 */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RuntimeUnavailableError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
