import { describe, expect, it } from 'vitest';
import { close, getBlocking, getInheritable, openpty, read, setBlocking, write } from '../src/index.js';
import { checkFdLeaks } from './helpers.js';

checkFdLeaks();

describe.skipIf(process.platform === 'win32')('openpty', () => {
  it('gives a master and a slave; what the slave writes the master reads (with the tty newline mapping)', () => {
    const [master, slave] = openpty();
    try {
      expect(master).not.toBe(slave);
      expect(getInheritable(master)).toBe(false);
      expect(getInheritable(slave)).toBe(false);
      expect(getBlocking(master)).toBe(true);
      write(slave, Buffer.from('line\n'));
      setBlocking(master, false);
      expect(read(master, 100).toString()).toBe('line\r\n');
    } finally {
      close(slave);
      close(master);
    }
  });

  it('reading the master after the slave closed fails with EIO on Linux', () => {
    const [master, slave] = openpty();
    try {
      close(slave);
      setBlocking(master, false);
      if (process.platform === 'linux') expect(() => read(master, 10)).toThrow(expect.objectContaining({ code: 'EIO', syscall: 'read' }));
    } finally {
      close(master);
    }
  });
});
