// @ts-check
// Express 5 as its README shows it, every default left on (ETag, X-Powered-By, res.json).
const express = require('express');

const app = express();
app.get('/', (_req, res) => {
  res.json({ status: 'alive' });
});
app.listen(Number(process.env.PORT), '127.0.0.1');
