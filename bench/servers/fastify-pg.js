// @ts-check
// Fastify 5 + pg: the same notes page on Fastify's defaults (bench peer for GET /api/v1/notes).
const fastify = require('fastify');
const { notesPage } = require('./notes-sql.js');

const app = fastify();
app.get('/', async () => ({ status: 'alive' }));
app.get('/api/v1/notes', async (request, reply) => {
  const page = await notesPage(request.headers.authorization);
  if (!page) return reply.code(401).send({ error: 'unauthenticated' });
  return page;
});
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });

process.on('SIGTERM', () => process.exit(0));
