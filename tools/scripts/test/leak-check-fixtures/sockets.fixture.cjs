// Closes its server but not the connection to it: both ends stay open, unref'd.
const { once } = require('node:events');
const net = require('node:net');

test('leaves a connection', async () => {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const client = net.connect(server.address().port, '127.0.0.1');
  await once(client, 'connect');
  const [socket] = await accepted;
  client.unref();
  socket.unref();
  server.close();
});
