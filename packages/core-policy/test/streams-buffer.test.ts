import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StreamBuffer } from '../src/streams/stream-buffer.js';

/** A tiny deterministic generator, so a failing sequence can be replayed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('StreamBuffer (the StreamReader buffer)', () => {
  it('behaves as a plain byte string under random appends, takes, discards and searches', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = generator(seed);
      const buffer = new StreamBuffer();
      let model = Buffer.alloc(0);
      for (let step = 0; step < 2000; step++) {
        const choice = random();
        if (choice < 0.45) {
          const chunk = randomBytes(Math.floor(random() * (random() < 0.1 ? 5000 : 40)));
          buffer.append(chunk);
          model = Buffer.concat([model, chunk]);
        } else if (choice < 0.75) {
          const count = Math.floor(random() * (model.length + 5));
          const taken = buffer.take(count);
          expect(taken.equals(model.subarray(0, count))).toBe(true);
          model = model.subarray(Math.min(count, model.length));
        } else if (choice < 0.85) {
          const count = Math.floor(random() * (model.length + 5));
          buffer.discard(count);
          model = model.subarray(Math.min(count, model.length));
        } else {
          const needle = Buffer.from([Math.floor(random() * 256), Math.floor(random() * 256)]).subarray(0, 1 + Math.floor(random() * 2));
          const from = Math.floor(random() * (model.length + 2));
          expect(buffer.indexOf(needle, from)).toBe(model.indexOf(needle, from));
          expect(buffer.startsWith(needle, from)).toBe(model.subarray(from, from + needle.length).equals(needle));
        }
        expect(buffer.length).toBe(model.length);
        expect(buffer.view().equals(model)).toBe(true);
      }
    }
  });

  it('bytes taken stay valid after more appends (copies, or the storage handed over)', () => {
    const buffer = new StreamBuffer();
    buffer.append(Buffer.from('hello world'));
    const all = buffer.take(11);
    buffer.append(Buffer.from('XXXXXXXXXXX'));
    const part = buffer.take(3);
    buffer.append(Buffer.from('YYYYYYYYYYYYYYYYYYYYYYYYY'));
    expect(all.toString()).toBe('hello world');
    expect(part.toString()).toBe('XXX');
  });

  it('stays consistent after a large storage is emptied; an empty take gives empty bytes', () => {
    const buffer = new StreamBuffer();
    buffer.append(Buffer.alloc(1024 * 1024, 1));
    buffer.discard(1024 * 1024 - 1);
    buffer.append(Buffer.alloc(10, 2));
    buffer.clear();
    expect(buffer.length).toBe(0);
    expect(buffer.view().length).toBe(0);
    expect(buffer.take(5).length).toBe(0);
  });

  it('a lent chunk behaves as appended bytes, and nothing of it is used once adopted (random lends, takes, discards, searches)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = generator(seed);
      const buffer = new StreamBuffer();
      let model = Buffer.alloc(0);
      const lent: Buffer[] = [];
      for (let step = 0; step < 2000; step++) {
        const choice = random();
        if (choice < 0.3) {
          const chunk = randomBytes(1 + Math.floor(random() * 60));
          const empty = buffer.length === 0;
          buffer.lend(chunk);
          if (empty) lent.push(chunk);
          model = Buffer.concat([model, chunk]);
        } else if (choice < 0.45) {
          const chunk = randomBytes(Math.floor(random() * 40));
          buffer.append(chunk);
          model = Buffer.concat([model, chunk]);
        } else if (choice < 0.7) {
          const count = Math.floor(random() * (model.length + 5));
          const taken = buffer.take(count);
          expect(taken.equals(model.subarray(0, count))).toBe(true);
          model = model.subarray(Math.min(count, model.length));
        } else if (choice < 0.8) {
          const count = Math.floor(random() * (model.length + 5));
          buffer.discard(count);
          model = model.subarray(Math.min(count, model.length));
        } else if (choice < 0.9) {
          // Once adopted, the lender may reuse its chunks: the buffer must not notice.
          buffer.adopt();
          for (const chunk of lent.splice(0)) chunk.fill(0xee);
        } else {
          const needle = Buffer.from([Math.floor(random() * 256)]);
          const from = Math.floor(random() * (model.length + 2));
          expect(buffer.indexOf(needle, from)).toBe(model.indexOf(needle, from));
          expect(buffer.startsWith(needle, from)).toBe(model.subarray(from, from + 1).equals(needle));
        }
        expect(buffer.length).toBe(model.length);
        expect(buffer.view().equals(model)).toBe(true);
      }
    }
  });

  it('a take of a whole lent chunk returns the chunk itself; a partial take copies only the rest in', () => {
    const buffer = new StreamBuffer();
    const chunk = Buffer.from('hello world');
    buffer.lend(chunk);
    expect(buffer.take(100)).toBe(chunk);
    expect(buffer.length).toBe(0);
    const second = Buffer.from('abcdef');
    buffer.lend(second);
    const head = buffer.take(2);
    expect(head.buffer).toBe(second.buffer);
    second.fill(0x21);
    expect(buffer.take(10).toString()).toBe('cdef');
    // Lending to a buffer that holds bytes appends (copies).
    buffer.append(Buffer.from('xy'));
    const third = Buffer.from('z');
    buffer.lend(third);
    third.fill(0x21);
    expect(buffer.take(10).toString()).toBe('xyz');
  });
});
