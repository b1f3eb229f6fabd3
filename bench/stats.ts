/** Timing and summary helpers for the benchmarks: every figure is a distribution, every comparison a ratio. */
import { performance } from 'node:perf_hooks';

export interface Summary {
  runs: number;
  p50: number;
  p95: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { runs: sorted.length, p50: at(0.5), p95: at(0.95) };
}

export async function timed(action: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await action();
  return performance.now() - start;
}

/**
 * Runs each contender `runs` times, interleaved (a, b, c, a, b, c, ...), so that a noisy moment
 * of the machine lands on all of them alike. Returns each one's samples in milliseconds.
 */
export async function interleave<K extends string>(
  runs: number,
  contenders: Record<K, (i: number) => Promise<unknown>>,
  progress?: (done: number) => void,
): Promise<Record<K, number[]>> {
  const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let i = 0; i < runs; i++) {
    for (const [name, run] of Object.entries(contenders) as [K, (i: number) => Promise<unknown>][]) {
      samples[name].push(await timed(() => run(i)));
    }
    progress?.(i + 1);
  }
  return samples;
}

export const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
export const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}×`);
