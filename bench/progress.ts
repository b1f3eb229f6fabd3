/** Progress on stderr, one line per step, so a long run shows where it is. */
const started = Date.now();

export function step(text: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${text}\n`);
}

export function counter(label: string, total: number): (done: number) => void {
  let last = 0;
  return (done) => {
    const now = Date.now();
    if (done === total || now - last > 2000) {
      last = now;
      step(`${label}: ${done}/${total}`);
    }
  };
}
