import { createConnection, createServer, type Socket } from 'node:net';
import { listenOnLoopback } from '../../support/net';

export interface TcpProxy {
  port: number;
  /** The link breaks: open connections are cut and new ones refused, as when a host loses its network. */
  cut(): Promise<void>;
  close(): Promise<void>;
}

/** A loopback TCP relay to 127.0.0.1:targetPort, so a test can take one host's database away from it alone. */
export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  const port = await listenOnLoopback(server);
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return closed;
  };
  return { port, cut: close, close };
}
