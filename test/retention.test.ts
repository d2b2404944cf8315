import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { uuidv7 } from '../src/db/ids';
import { purgeExpiredData } from '../src/features/privacy/retention';
import { localFileStore } from '../src/storage/files';
import { bearer, signUp, testDatabaseUrl, useTestApp } from './support/harness';
import { runScript } from './support/processes';

const { app, db, config } = useTestApp();
const files = localFileStore(config.uploads.dir);
/** Sessions only, as before accounts could go unverified: no account is purged for it. */
const SESSIONS_ONLY = { sessionRetentionDays: 30, unverifiedAccountRetentionDays: 0 };
const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY);

async function session(userId: string, ended: { expires: Date; revoked?: Date }) {
  const id = uuidv7();
  await db('auth_sessions').insert({
    id,
    user_id: userId,
    token_hash: randomBytes(32).toString('hex'),
    expires_at: ended.expires,
    revoked_at: ended.revoked ?? null,
  });
  return id;
}

describe('SEC-18: data retention', () => {
  test('SEC-18: when the purge runs, then sessions ended past the retention go and live or recently ended ones stay', async () => {
    const { userId } = await signUp(app);
    const old = {
      expired: await session(userId, { expires: ago(31) }),
      revoked: await session(userId, { expires: ago(-1), revoked: ago(40) }),
    };
    const kept = {
      live: await session(userId, { expires: ago(-1) }),
      recentlyExpired: await session(userId, { expires: ago(29) }),
      recentlyRevoked: await session(userId, { expires: ago(-1), revoked: ago(2) }),
    };

    const purged = await purgeExpiredData(db, SESSIONS_ONLY);

    expect(purged.sessions).toBeGreaterThanOrEqual(2);
    const left = new Set((await db('auth_sessions').where({ user_id: userId }).pluck('id')) as string[]);
    for (const id of Object.values(old)) expect(left.has(id)).toBe(false);
    for (const id of Object.values(kept)) expect(left.has(id)).toBe(true);
    expect((await purgeExpiredData(db, SESSIONS_ONLY)).sessions).toBe(0);
  });

  test('SEC-18: when the purge runs with UNVERIFIED_ACCOUNT_RETENTION_DAYS, then accounts never verified past it go with their notes and files, and verified or younger ones stay', async () => {
    const signedUpDaysAgo = async (days: number, verified: boolean) => {
      const account = await signUp(app);
      await db('users')
        .where({ id: account.userId })
        .update({
          created_at: ago(days),
          email_verified_at: verified ? ago(days - 1) : null,
        });
      return account;
    };
    const stale = await signedUpDaysAgo(8, false);
    const note = await request(app)
      .post('/api/v1/notes')
      .set(bearer(stale))
      .send({ title: 'gone' })
      .expect(201);
    await request(app)
      .post(`/api/v1/notes/${note.body.note.id}/attachments?filename=a.pdf`)
      .set(bearer(stale))
      .set('Content-Type', 'application/pdf')
      .send(Buffer.from('%PDF-1.7\n%%EOF\n'))
      .expect(201);
    expect(existsSync(join(config.uploads.dir, stale.userId))).toBe(true);
    const kept = [await signedUpDaysAgo(8, true), await signedUpDaysAgo(6, false)];

    const purged = await purgeExpiredData(
      db,
      { sessionRetentionDays: 30, unverifiedAccountRetentionDays: 7 },
      files,
    );

    expect(purged.accounts).toBeGreaterThanOrEqual(1);
    expect(await db('users').where({ id: stale.userId }).first()).toBeUndefined();
    expect(await db('notes').where({ user_id: stale.userId }).first()).toBeUndefined();
    expect(existsSync(join(config.uploads.dir, stale.userId))).toBe(false);
    for (const account of kept) expect(await db('users').where({ id: account.userId }).first()).toBeDefined();
  });

  test('when UNVERIFIED_ACCOUNT_RETENTION_DAYS is 0, then no account is purged, however old and unverified', async () => {
    const account = await signUp(app);
    await db('users')
      .where({ id: account.userId })
      .update({ created_at: ago(3000) });

    const purged = await purgeExpiredData(db, SESSIONS_ONLY, files);

    expect(purged.accounts).toBe(0);
    expect(await db('users').where({ id: account.userId }).first()).toBeDefined();
  });

  test('SEC-18: when the purge runs, then mailed tokens used or expired over an hour ago go, and live or recent ones stay (the hourly cap still counts them)', async () => {
    const { userId } = await signUp(app);
    const token = async (created: Date, ended: { used?: Date; expires: Date }) => {
      const id = uuidv7();
      await db('account_tokens').insert({
        id,
        user_id: userId,
        purpose: 'change-email',
        token_hash: randomBytes(32).toString('hex'),
        created_at: created,
        expires_at: ended.expires,
        used_at: ended.used ?? null,
        new_email: 'someone-else@example.test',
      });
      return id;
    };
    const hour = 1 / 24;
    const dead = {
      used: await token(ago(2 * hour), { used: ago(hour + 0.01), expires: ago(-1) }),
      expired: await token(ago(3), { expires: ago(1) }),
    };
    const kept = {
      live: await token(ago(2 * hour), { expires: ago(-1) }),
      usedRecently: await token(ago(hour / 4), { used: ago(hour / 8), expires: ago(-1) }),
    };

    const purged = await purgeExpiredData(db, SESSIONS_ONLY);

    expect(purged.tokens).toBeGreaterThanOrEqual(2);
    const left = new Set((await db('account_tokens').where({ user_id: userId }).pluck('id')) as string[]);
    for (const id of Object.values(dead)) expect(left.has(id)).toBe(false);
    for (const id of Object.values(kept)) expect(left.has(id)).toBe(true);
  });
});

describe('the purge command', () => {
  /** An account signed up `days` ago that never verified its address. */
  async function unverifiedSince(days: number) {
    const account = await signUp(app);
    await db('users')
      .where({ id: account.userId })
      .update({ created_at: ago(days) });
    return account;
  }
  const purge = (env: Record<string, string>) =>
    runScript('src/cli/purge.ts', [], { APP_ENV: 'testing', DATABASE_URL: testDatabaseUrl(), ...env });

  test('when the purge command runs on the database, then it deletes what is past the retention and says how many', async () => {
    const { userId } = await signUp(app);
    const expired = await session(userId, { expires: ago(400) });
    const unverified = await unverifiedSince(400);
    const result = await purge({
      SESSION_RETENTION_DAYS: '365',
      REQUIRE_VERIFIED_EMAIL: 'true',
      UNVERIFIED_ACCOUNT_RETENTION_DAYS: '365',
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^purged [1-9]\d* session\(s\) ended over 365 days ago$/m);
    expect(result.stdout).toMatch(/^purged [1-9]\d* account\(s\) never verified in 365 days$/m);
    expect(result.stdout).toMatch(/^purged \d+ used or expired mailed token\(s\)$/m);
    expect(result.status).toBe(0);
    expect(await db('auth_sessions').where({ id: expired }).first()).toBeUndefined();
    expect(await db('users').where({ id: unverified.userId }).first()).toBeUndefined();
  });

  test('when the purge command is given an unverified-account retention without REQUIRE_VERIFIED_EMAIL, then it refuses to start (78) and deletes nothing', async () => {
    const unverified = await unverifiedSince(400);
    const result = await purge({
      UNVERIFIED_ACCOUNT_RETENTION_DAYS: '365',
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/UNVERIFIED_ACCOUNT_RETENTION_DAYS: .*REQUIRE_VERIFIED_EMAIL=true/);
    expect(await db('users').where({ id: unverified.userId }).first()).toBeDefined();
  });
});
