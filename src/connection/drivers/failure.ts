/** The `failed` promise of a link: rejected once, read only in a race. */
export function deferredFailure(): { promise: Promise<never>; fail(error: unknown): void } {
  let fail: (error: unknown) => void = () => {};
  const promise = new Promise<never>((_, reject) => (fail = reject));
  promise.catch(() => {}); // only a race reads it
  return { promise, fail: (error) => fail(error) };
}

/**
 * Whether an error ended the server session rather than one statement: no SQLSTATE (a socket
 * error, a connection the driver closed), a connection exception (class 08), or the server
 * ending the session (57P01 admin shutdown or a terminated backend, 57P02 crash shutdown, 57P03
 * cannot connect now).
 */
export function endsTheSession(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return /^(08|57P0[123])/.test(code);
}
