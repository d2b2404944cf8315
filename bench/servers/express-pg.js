// @ts-check
// Bare Express 5 + pg: the notes page as a developer would first write it (bench peer for GET /api/v1/notes).
const express = require('express');
const { notesPage } = require('./notes-sql.js');

const app = express();
app.get('/', (_req, res) => {
  res.json({ status: 'alive' });
});
app.get('/api/v1/notes', async (req, res) => {
  const page = await notesPage(req.headers.authorization);
  if (!page) return res.status(401).json({ error: 'unauthenticated' });
  res.json(page);
});
app.listen(Number(process.env.PORT), '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));
