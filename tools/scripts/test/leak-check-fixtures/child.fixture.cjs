// Leaves a child process running (it ends by itself after 30 s, or when the self-test kills it).
const { spawn } = require('node:child_process');

test('leaves a child process', () => {
  spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' }).unref();
});
