import test from 'ava';
import { AdaptiveSize } from '../../src/uucp/protocol/adaptive-size.js';

const pays = (size: number): number => size * 2;

test('damage halves the size once per window at the new size, never below the floor', (t) => {
  const s = new AdaptiveSize(1024, 128, pays);
  t.true(s.damaged(3));
  t.is(s.size, 512);
  // The rest of the window was sent at the old size: its damage is the same event.
  t.false(s.damaged(3));
  s.passed();
  s.passed();
  t.false(s.damaged(3));
  s.passed();
  t.true(s.damaged(3));
  t.is(s.size, 256);
  for (let i = 0; i < 3; i++) s.passed();
  t.true(s.damaged(3));
  t.is(s.size, 128);
  for (let i = 0; i < 3; i++) s.passed();
  t.false(s.damaged(3));
  t.is(s.size, 128);
});

test('good bytes in a row double the size up to the limit; damage starts the count again', (t) => {
  const s = new AdaptiveSize(128, 64, pays);
  t.false(s.good(200, 512, 0));
  s.damaged(0);
  t.is(s.size, 64);
  t.false(s.good(100, 512, 0));
  t.true(s.good(28, 512, 0));
  t.is(s.size, 128);
  t.false(s.good(255, 512, 0));
  t.true(s.good(1, 512, 0));
  t.true(s.good(512, 512, 0));
  t.is(s.size, 512);
  t.false(s.good(1 << 20, 512, 0));
  t.is(s.size, 512);
});

test('a size set from outside is guarded like the rule\'s own', (t) => {
  const s = new AdaptiveSize(1024, 64, pays);
  s.set(512, 2);
  t.false(s.damaged(2));
  s.passed();
  s.passed();
  t.true(s.damaged(2));
  t.is(s.size, 256);
});
