// Opens a server, a connection, a ref'd timer and a child process, and closes them all.
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const net = require('node:net');

test('closes what it opens', async () => {
  const server = net.createServer((s) => s.end()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect(server.address().port, '127.0.0.1');
  await once(client, 'connect');
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
  clearTimeout(setTimeout(() => {}, 60_000));
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  // Unref'd timers are let through on purpose (grpc-js keeps some).
  setTimeout(() => {}, 60_000).unref();
});
