// Leaves a ref'd timer pending.
test('leaves a timer', () => {
  setTimeout(() => {}, 30_000);
});
