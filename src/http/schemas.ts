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

/** A whole number in a query string, within bounds. */
export const queryInt = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, { error: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    )
    .prefault(String(fallback));
