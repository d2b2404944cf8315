// @ts-check
// The ceiling for Node on this machine: node:http with nothing between the socket and the answer.
const { createServer } = require('node:http');

const body = JSON.stringify({ status: 'alive' });
createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');

// Exit on SIGTERM (the bench's stop) so node --cpu-prof writes its profile; the default action would not.
process.on('SIGTERM', () => process.exit(0));
