import { Sul, SulScheduler } from '../../src/loop/sul.js';
test('smoke', () => {
  const s = new SulScheduler(); const order: number[] = [];
  const a = new Sul(() => order.push(1)); const b = new Sul(() => order.push(2));
  s.scheduleAt(a, 10); s.scheduleAt(b, 10);
  expect(s.service(10)).toBeUndefined();
  expect(order).toEqual([2, 1]);
});
