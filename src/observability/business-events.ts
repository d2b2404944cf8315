import { createHmac } from 'node:crypto';
import type { Counter } from 'prom-client';
import type { Logger } from './logger.js';

export type AccountEventKind =
  | 'signup'
  | 'login'
  | 'erasure'
  | 'lockout'
  | 'password-change'
  | 'email-change'
  | 'email-verification';
export type Outcome = 'success' | 'failure';

/** What a product team counts and a security team audits. Each event is a counter; account events a log line too. */
export type BusinessEvent =
  | { kind: AccountEventKind; outcome: Outcome; userId?: string; email?: string }
  | { kind: 'note-created'; userId: string };

export interface BusinessEvents {
  record(event: BusinessEvent): void;
}

export interface BusinessEventsOptions {
  logger: Logger;
  /** Keys the email reference: the same address gives the same reference, which no one can reverse without it. */
  secretKey: string;
  counter?: Counter<'event' | 'outcome'>;
}

/**
 * Account events are logged with a keyed reference of the email, never the email itself: repeated failures
 * against one account can be followed across the logs without the logs holding who it is.
 */
export function businessEvents({ logger, secretKey, counter }: BusinessEventsOptions): BusinessEvents {
  const emailRef = (email: string) =>
    createHmac('sha256', secretKey).update(email).digest('hex').slice(0, 16);
  return {
    record(event) {
      const outcome = 'outcome' in event ? event.outcome : 'success';
      counter?.inc({ event: event.kind, outcome });
      if (event.kind === 'note-created') return;
      const { kind, userId, email } = event;
      const line = { event: kind, outcome, userId, emailRef: email ? emailRef(email) : undefined };
      if (kind === 'lockout') logger.warn(line, 'account locked after repeated failed logins');
      else if (outcome === 'failure') logger.warn(line, `${kind} failed`);
      else logger.info(line, `${kind} succeeded`);
    },
  };
}
