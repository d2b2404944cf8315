import { type AppProcess, type LogLine, startApp, stopApp } from '../../faults/support/app';
import { send } from '../../faults/support/client';
import { freePort } from '../../support/net';
import { waitFor } from '../../support/waiting';

/**
 * One app host: the built app alone on its own loopback address (127.0.0.x) and port, as a machine of its
 * own would run it behind the shared nginx. It can be killed, drained and started again on the same address.
 */
export interface AppHost {
  /** HOST:PORT, as nginx's upstream names it. */
  readonly address: string;
  readonly app: AppProcess;
  /** Access lines this host wrote, over every start (a restart keeps the earlier ones). */
  requests(filter?: (line: LogLine) => boolean): LogLine[];
  start(): Promise<void>;
  /** SIGTERM: readiness 503, the listener closes, in-flight requests finish; resolves when it exited. */
  drain(): Promise<{ code: number | null }>;
  /** SIGKILL: a host that dies with requests in flight. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const isAccessLine = (line: LogLine) => typeof line.req === 'object' && typeof line.res === 'object';

export async function appHost(ip: string, env: Record<string, string>): Promise<AppHost> {
  const port = await freePort();
  const earlier: LogLine[] = [];
  let app: AppProcess | undefined;
  const host: AppHost = {
    address: `${ip}:${port}`,
    get app() {
      if (!app) throw new Error('host not started');
      return app;
    },
    requests(filter = () => true) {
      return [...earlier, ...(app?.logs ?? [])].filter((line) => isAccessLine(line) && filter(line));
    },
    async start() {
      if (app) earlier.push(...app.logs);
      app = await startApp({ HOST: ip, PORT: String(port), WEB_CONCURRENCY: '1', ...env });
      await waitFor(
        `host ${ip}:${port} to be ready`,
        async () => (await send(`http://${ip}:${port}/health/ready`)).status === 200 || undefined,
        { timeoutMs: 60_000 },
      );
    },
    async drain() {
      host.app.kill('SIGTERM');
      return host.app.exited;
    },
    async kill() {
      host.app.kill('SIGKILL');
      await host.app.exited;
    },
    stop: () => stopApp(app),
  };
  await host.start();
  return host;
}
