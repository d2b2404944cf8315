// @ts-check
// The two queries the peers run for GET /api/v1/notes: the bearer token's session, then a page of the owner's
// notes. The same SQL and the same JSON as shipshape's route, without anything else: no validation beyond the
// token, no headers, no logging, no metrics, no rate limit.
const { createHash } = require('node:crypto');
const pg = require('pg');

const SESSION = `select s.id as session_id, u.id as user_id from auth_sessions s join users u on u.id = s.user_id
  where s.token_hash = $1 and s.revoked_at is null and s.expires_at > now() limit 1`;
const PAGE = `select id, title, body, created_at, updated_at from notes where user_id = $1 order by id desc limit $2`;

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

/**
 * The page as JSON, or undefined when the token names no live session.
 * @param {string | undefined} authorization
 */
async function notesPage(authorization, limit = 20) {
  const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
  if (!token) return undefined;
  const hash = createHash('sha256').update(token).digest('hex');
  const session = (await pool.query(SESSION, [hash])).rows[0];
  if (!session) return undefined;
  const rows = (await pool.query(PAGE, [session.user_id, limit + 1])).rows;
  const items = rows.slice(0, limit).map((row) => ({
    id: row.id,
    title: row.title,
    body: row.body,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  }));
  const last = items[items.length - 1];
  const nextCursor = rows.length > limit && last ? Buffer.from(last.id).toString('base64url') : null;
  return { items, nextCursor };
}

module.exports = { notesPage, pool };
