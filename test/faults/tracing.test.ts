import { eventually } from '../support/waiting';
import type { AppProcess } from './support/app';
import { send, signUp } from './support/client';
import {
  type Envelope,
  type OtlpSpan,
  otlpReceiver,
  type Receiver,
  sentryReceiver,
} from './support/receivers';
import { useFaultRig } from './support/rig';

jest.setTimeout(60_000);

const rig = useFaultRig();
let otlp: Receiver<OtlpSpan>;
let sentry: Receiver<Envelope>;
let app: AppProcess;

const SERVER = 2; // OTLP SpanKind
const CLIENT = 3;

beforeAll(async () => {
  otlp = await otlpReceiver();
  sentry = await sentryReceiver();
  // Both on at once: the point is that they coexist.
  app = await rig.start({
    WEB_CONCURRENCY: '1',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    SENTRY_DSN: `${sentry.url.replace('//', '//publickey@')}/1`,
  });
  await app.waitForLog((l) => l.msg === 'ready to serve');
});
afterAll(async () => {
  await otlp.close();
  await sentry.close();
});

describe('OBS-8: distributed tracing', () => {
  test('when a request is served, then its HTTP server span and its database spans reach the OTLP receiver in one trace, and its log line carries that trace id', async () => {
    const token = await signUp(app.url);
    const reply = await send(`${app.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(reply.status).toBe(200);
    const requestId = reply.headers['x-request-id'];

    const logLine = await app.waitForLog((l) => l.requestId === requestId && l.msg === 'request completed');
    expect(logLine.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const spans = await eventually(async () => {
      const inTrace = otlp.received.filter((s) => s.traceId === logLine.trace_id);
      if (
        !inTrace.some(
          (s) =>
            s.kind === CLIENT &&
            /postgres/.test(String(s.attributes['db.system.name'] ?? s.attributes['db.system'])),
        )
      ) {
        throw new Error(`spans so far: ${inTrace.map((s) => s.name).join(', ')}`);
      }
      return inTrace;
    });
    const server = spans.find((s) => s.kind === SERVER);
    expect(server).toBeDefined();
    expect(server!.attributes['http.route']).toBe('/api/v1/users/me');
    expect(server!.service).toBe('shipshape');
    // Every span of the request hangs under the server span.
    expect(spans.filter((s) => s !== server).every((s) => s.parentSpanId)).toBe(true);
  });

  test('when a request arrives with a W3C traceparent header, then the app continues that trace', async () => {
    const reply = await send(`${app.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
      body: JSON.stringify({ email: 'nobody@example.test', password: 'not the password at all' }),
    });
    expect(reply.status).toBe(401);
    const logLine = await app.waitForLog(
      (l) => l.requestId === reply.headers['x-request-id'] && l.msg === 'request completed',
    );
    // The incoming W3C traceparent is continued, so a trace spans nginx, other services and this one.
    expect(logLine.trace_id).toBe('0af7651916cd43dd8448eb211c80319c');
  });
});
