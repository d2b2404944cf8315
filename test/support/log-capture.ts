import { Writable } from 'node:stream';

/**
 * A destination for `createLogger` that keeps what the app logs: the raw text, to prove a secret never appears,
 * and each line parsed, since the logs are JSON with one object per line (OBS-1).
 */
export function logCapture() {
  const capture = {
    lines: [] as Record<string, unknown>[],
    raw: '',
    sink: new Writable({
      write(chunk, _encoding, done) {
        const text = chunk.toString();
        capture.raw += text;
        for (const line of text.split('\n').filter(Boolean)) capture.lines.push(JSON.parse(line));
        done();
      },
    }),
    clear() {
      capture.lines.length = 0;
      capture.raw = '';
    },
  };
  return capture;
}
