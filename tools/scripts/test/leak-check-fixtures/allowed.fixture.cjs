/**
 * @leakCheckAllow servers
 *
 * The self-test of the pragma: the server this file leaves is let through.
 */
const { once } = require('node:events');
const net = require('node:net');

test('leaves a server it is allowed to', async () => {
  const server = net.createServer().listen(0, '127.0.0.1');
  server.unref();
  await once(server, 'listening');
});
