// The key user flow through HTTP, as a client would: register, login, then create, read, list, update and
// delete a note. Exits 0 when every step answers as the API promises, 1 naming the first step that did not.
// usage: node scripts/api-smoke-flow.mjs http://127.0.0.1:3000
import { randomBytes } from 'node:crypto';

const base = (process.argv[2] ?? '').replace(/\/$/, '');
if (!/^https?:\/\//.test(base)) {
  console.error('usage: node scripts/api-smoke-flow.mjs BASE_URL');
  process.exit(64);
}

const email = `smoke-${randomBytes(6).toString('hex')}@example.test`;
const password = randomBytes(18).toString('base64url');

async function step(name, method, path, { token, body, expect }) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: {
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status !== expect) {
    throw new Error(
      `${name}: ${method} ${path} answered ${response.status}, ${expect} expected: ${text.slice(0, 300)}`,
    );
  }
  process.stdout.write(`ok   ${name} (${method} ${path} ${response.status})\n`);
  return text ? JSON.parse(text) : undefined;
}

try {
  await step('register', 'POST', '/auth/register', { body: { email, password }, expect: 201 });
  const { token } = await step('login', 'POST', '/auth/login', { body: { email, password }, expect: 200 });
  const { note } = await step('create a note', 'POST', '/notes', {
    token,
    body: { title: 'smoke', body: 'written by the smoke flow' },
    expect: 201,
  });
  const { note: read } = await step('read it', 'GET', `/notes/${note.id}`, { token, expect: 200 });
  if (read.title !== 'smoke') throw new Error(`read it: title is ${JSON.stringify(read.title)}`);
  const list = await step('list notes', 'GET', '/notes', { token, expect: 200 });
  if (!list.items.some((item) => item.id === note.id)) throw new Error('list notes: the note is missing');
  await step('update it', 'PATCH', `/notes/${note.id}`, { token, body: { title: 'smoke 2' }, expect: 200 });
  await step('delete it', 'DELETE', `/notes/${note.id}`, { token, expect: 204 });
  await step('it is gone', 'GET', `/notes/${note.id}`, { token, expect: 404 });
  process.stdout.write(`smoke flow: passed against ${base}\n`);
} catch (error) {
  console.error(`smoke flow: FAILED against ${base}: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
