/**
 * A TCP proxy in front of the test's Postgres that can freeze: it stops forwarding in both
 * directions, with every socket left open, as a proxy or network path that hangs does. It
 * freezes the connection whose client sends a statement matching `freezeOn`, right after
 * forwarding that statement: the server runs it, and its answer never reaches the client.
 * Connections opened later are forwarded as usual.
 */
import { createServer, Socket, type AddressInfo } from 'node:net';

export interface FreezingProxy {
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  /** Resolves once a connection was frozen. */
  frozen: Promise<void>;
  /** Closes the proxy and destroys every socket it holds. */
  close(): Promise<void>;
}

export async function freezingProxy(target: string, freezeOn: RegExp): Promise<FreezingProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let froze: () => void = () => {};
  const frozen = new Promise<void>((resolve) => (froze = resolve));
  let done = false;
  const server = createServer((client) => {
    const upstream = new Socket();
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    upstream.connect(Number(port || 5432), hostname === 'localhost' ? '127.0.0.1' : hostname);
    let stopped = false;
    const stop = () => {
      stopped = true;
      client.pause();
      upstream.pause();
    };
    client.on('data', (data: Buffer) => {
      if (stopped) return;
      upstream.write(data);
      if (!done && freezeOn.test(data.toString('latin1'))) {
        done = true;
        stop();
        froze();
      }
    });
    upstream.on('data', (data: Buffer) => void (stopped || client.write(data)));
    // A frozen path passes no close either.
    client.on('end', () => void (stopped || upstream.end()));
    upstream.on('end', () => void (stopped || client.end()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    via(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(address.port);
      return u.toString();
    },
    frozen,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
