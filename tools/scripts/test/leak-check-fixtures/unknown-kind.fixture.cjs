/**
 * @leakCheckAllow sockets
 */
test('names a kind the check does not know', () => {});
