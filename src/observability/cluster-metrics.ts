import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const METRICS_REQUEST = 'shipshape:metrics-request';
const METRICS_REPLY = 'shipshape:metrics-reply';

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
interface Reply {
  type: typeof METRICS_REPLY;
  id: number;
  metrics: MetricsJson;
}

const isReply = (message: unknown): message is Reply =>
  typeof message === 'object' && message !== null && (message as Reply).type === METRICS_REPLY;

/** In a worker: answer the primary's scrape requests with this process's registry. */
export function answerMetricsRequests(registry: Registry): void {
  process.on('message', (message: { type?: string; id?: number }) => {
    if (message?.type !== METRICS_REQUEST) return;
    // A collector that fails leaves this worker out of that scrape (the primary times it out); it must never
    // become an unhandled rejection, which would end the worker.
    registry
      .getMetricsAsJSON()
      .then((metrics) => process.send?.({ type: METRICS_REPLY, id: message.id, metrics }))
      .catch(() => {});
  });
}

/**
 * In the primary: one scrape answered with the sum of every ready worker, using prom-client's
 * aggregation rules (sums, except gauges marked max/min/average). Unlike AggregatorRegistry.clusterMetrics it
 * asks only workers that finished starting, so a worker still loading its modules cannot stall the scrape;
 * a worker that does not answer within the timeout is left out of that scrape rather than failing it.
 */
export function clusterMetrics(workers: () => Worker[], timeoutMs = 3_000) {
  let nextId = 0;
  return {
    contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE as string,
    async collect(): Promise<string> {
      const id = nextId++;
      const replies = await Promise.all(
        workers().map(
          (worker) =>
            new Promise<MetricsJson | undefined>((resolve) => {
              const timer = setTimeout(() => finish(undefined), timeoutMs);
              const onMessage = (message: unknown) => {
                if (isReply(message) && message.id === id) finish(message.metrics);
              };
              const finish = (metrics: MetricsJson | undefined) => {
                clearTimeout(timer);
                worker.off('message', onMessage);
                worker.off('exit', onExit);
                resolve(metrics);
              };
              const onExit = () => finish(undefined);
              worker.on('message', onMessage);
              worker.once('exit', onExit);
              if (worker.isConnected()) worker.send({ type: METRICS_REQUEST, id });
              else finish(undefined);
            }),
        ),
      );
      const answered = replies.filter((r): r is MetricsJson => r !== undefined);
      return AggregatorRegistry.aggregate(answered).metrics();
    },
  };
}
