import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from '../../support/net';
import { waitFor } from '../../support/waiting';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Starts redis-server (again) on the same port, and waits until it accepts connections. */
  start(): Promise<void>;
  /** SIGTERM and wait: what an operator's stop or a crash of the Redis host does to its clients. */
  stop(): Promise<void>;
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** A redis-server of the test's own on a free loopback port, without persistence: a restart forgets everything. */
export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      await waitFor('redis-server to accept connections', async () => (await accepts(port)) || undefined, {
        intervalMs: 50,
      });
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGTERM');
      });
    },
  };
  await redis.start();
  return redis;
}
