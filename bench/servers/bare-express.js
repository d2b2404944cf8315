// @ts-check
// Express 5 as its README shows it, every default left on (ETag, X-Powered-By, res.json).
const express = require('express');

const app = express();
app.get('/', (_req, res) => {
  res.json({ status: 'alive' });
});
app.listen(Number(process.env.PORT), '127.0.0.1');

// Exit on SIGTERM (the bench's stop) so node --cpu-prof writes its profile; the default action would not.
process.on('SIGTERM', () => process.exit(0));
