import { z } from 'zod';

/**
 * Text that PostgreSQL can store as written: no NUL (text columns reject it) and no lone UTF-16 surrogate
 * (it would be silently replaced on the way to UTF-8). Refused with 422 instead of failing later with 500.
 */
export const text = () =>
  z
    .string()
    .refine((value) => !value.includes('\u0000'), { error: 'must not contain NUL characters' })
    .refine((value) => value.isWellFormed(), { error: 'must be well-formed Unicode' });

export const uuid = () => z.uuid({ error: 'must be a UUID' });

export const timestamp = () => z.iso.datetime({ offset: true });

/**
 * Text a person writes: surrounding whitespace is dropped, and nothing but whitespace is refused. The length
 * is checked on the text as sent, so the document's maxLength is exactly the server's.
 */
export const trimmedText = (max: number) =>
  text()
    .max(max, { error: `must be at most ${max} characters` })
    .regex(/\S/, { error: 'must not be empty' })
    .trim()
    .meta({ description: 'Leading and trailing whitespace is removed; it must not be blank.' });

/** Marks a query schema for the OpenAPI document: it is described as this integer, not as the string it parses. */
export const QUERY_INTEGER = 'x-query-integer';

/** A whole number in a query string, within bounds. */
export const queryInt = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^(0|[1-9]\d{0,5})$/, { error: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    )
    .prefault(String(fallback))
    .meta({ [QUERY_INTEGER]: { minimum: min, maximum: max, default: fallback } });
