// Leaves an unref'd server listening, as an unclosed MockCluster does: it keeps nothing alive.
const { once } = require('node:events');
const net = require('node:net');

test('leaves an unref-d server', async () => {
  const server = net.createServer().listen(0, '127.0.0.1');
  server.unref();
  await once(server, 'listening');
});
