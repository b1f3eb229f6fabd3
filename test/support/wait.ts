/** Polling for a state another session reaches, bounded against a hang, never timed. */
import assert from 'node:assert/strict';

/**
 * Resolves once `condition` holds, checking every 25 ms; fails after `tries` checks (about a
 * minute by default), which bounds a hang, not slowness: nothing here asserts how soon.
 */
export async function until(condition: () => Promise<boolean>, what: string, tries = 2400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`gave up waiting until ${what}`);
}
