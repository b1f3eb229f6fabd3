/**
 * How long a test waits for what should happen before it calls it a hang. Tests bound hangs,
 * not slowness: this is far past what anything takes on two busy cores, and only a test that
 * would otherwise wait forever ever reaches it.
 */
export const HANG_MS = 5 * 60_000;
