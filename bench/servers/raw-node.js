// @ts-check
// The ceiling for Node on this machine: node:http with nothing between the socket and the answer.
const { createServer } = require('node:http');

const body = JSON.stringify({ status: 'alive' });
createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
