/**
 * Polling for a state another session or process reaches: every 25 ms, bounded against a hang
 * (HANG_MS), never timed. Nothing here asserts how soon.
 */
import { HANG_MS } from './patience.js';

/**
 * Resolves with what `probe` returns once it returns a value (anything but undefined); fails
 * after HANG_MS, or as soon as `gaveUp()` says the side being waited for has ended.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, gaveUp: () => boolean = () => false): Promise<T> {
  const deadline = Date.now() + HANG_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (gaveUp()) throw new Error(`gave up waiting for ${what}: what was to get there has ended`);
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${HANG_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Resolves once `condition` holds (see waitFor). */
export async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  await waitFor(what, async () => ((await condition()) ? true : undefined));
}
