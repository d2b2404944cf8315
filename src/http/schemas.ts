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

function codePoints(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/**
 * Text of a bounded length, counted in characters (code points) as JSON Schema's minLength and maxLength and
 * PostgreSQL's varchar(n) count them; zod's own .min and .max count UTF-16 units, which would refuse 150
 * emoji as longer than 200. Call .meta last on what this returns: the document needs the bounds.
 */
const boundedText = (min: number, max: number) =>
  text()
    .refine((value) => codePoints(value) >= min, { error: `must be at least ${min} characters` })
    .refine((value) => codePoints(value) <= max, { error: `must be at most ${max} characters` });

/** Text from min to max characters. */
export const textOfLength = (min: number, max: number) =>
  boundedText(min, max).meta({ ...(min > 0 && { minLength: min }), maxLength: max });

export const uuid = () => z.uuid({ error: 'must be a UUID' });

export const timestamp = () => z.iso.datetime({ offset: true });

/**
 * Text a person writes: surrounding whitespace is dropped, and nothing but whitespace is refused. The length
 * is checked on the text as sent, so the document's maxLength is exactly the server's.
 */
export const trimmedText = (max: number) =>
  boundedText(0, max).regex(/\S/, { error: 'must not be empty' }).trim().meta({
    minLength: 1,
    maxLength: max,
    description: 'Leading and trailing whitespace is removed; it must not be blank.',
  });

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

/** An opaque cursor: the last id of the previous page, so pages stay stable while items are added. */
export const cursor = () =>
  z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, { error: 'is not a cursor this API returned' })
    .meta({ description: 'Opaque: the nextCursor of the previous page, sent back unchanged.' })
    .transform((value, ctx) => {
      const id = Buffer.from(value, 'base64url').toString('utf8');
      if (!uuid().safeParse(id).success) {
        ctx.addIssue({ code: 'custom', message: 'is not a cursor this API returned' });
        return z.NEVER;
      }
      return id;
    });
export const encodeCursor = (id: string) => Buffer.from(id, 'utf8').toString('base64url');

/** limit and cursor, for every list that pages by id (UUIDv7 ids sort by creation time). */
export const pageQuery = () =>
  z.strictObject({
    limit: queryInt(1, 100, 20),
    cursor: cursor().optional(),
  });
