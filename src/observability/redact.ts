import { CENSOR, isSecretKey } from './secret-keys.js';

/** Deep enough for any object the app logs (an error's cause's config's headers), and bounded for cycles. */
const MAX_DEPTH = 6;

function copyOf(value: object): Record<string, unknown> {
  // An Error's name, message and stack are not enumerable: carry them, so pino still prints it as an error.
  if (value instanceof Error)
    return { ...value, name: value.name, message: value.message, stack: value.stack };
  return { ...value };
}

/**
 * The value with the value of every secret key replaced by the censor, at any depth. Nothing is copied
 * unless something is censored, so a line with nothing to hide costs one walk over its keys: about a
 * microsecond, where pino's path redaction with the `*.*.key` wildcards this needs cost 19 us per line
 * (docs/performance.md, change 8). Used as pino's formatters.log, so it sees every line, mixin fields
 * included.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (ArrayBuffer.isView(value) || value instanceof Date) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const redacted = redactSecrets(item, depth + 1);
      if (redacted === item) return;
      copy ??= [...value];
      copy[i] = redacted;
    });
    return (copy ?? value) as T;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const inner = (value as Record<string, unknown>)[key];
    const redacted = inner !== undefined && isSecretKey(key) ? CENSOR : redactSecrets(inner, depth + 1);
    if (redacted === inner) continue;
    copy ??= copyOf(value);
    copy[key] = redacted;
  }
  return (copy ?? value) as T;
}
