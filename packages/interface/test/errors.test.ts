import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  SSLCertVerificationError,
  SSLError,
  BlockingIOError,
  BrokenPipeError,
  CancelledError,
  ConnectionError,
  ConnectionRefusedError,
  ConnectionResetError,
  FileNotFoundError,
  IncompleteReadError,
  KeyError,
  LimitOverrunError,
  NotImplementedError,
  OSError,
  RuntimeError,
  errnoName,
  errnoNumber,
  osErrorFromErrno,
  toOSError,
} from '@evloop/interface';

describe('error classes', () => {
  it('name themselves and keep the JavaScript hierarchy', () => {
    const error = new NotImplementedError('addReader is not supported by iocp');
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('NotImplementedError');
    expect(String(error)).toBe('NotImplementedError: addReader is not supported by iocp');
    expect(new KeyError('fd 3 is not registered')).toBeInstanceOf(RangeError);
  });

  it('isInstance() checks the tag, so it holds across duplicated copies of the package', () => {
    const foreign = Object.create({ [Symbol.for('evloop.error')]: ['CancelledError'] });
    expect(CancelledError.isInstance(foreign)).toBe(true);
    expect(CancelledError.isInstance(new Error('x'))).toBe(false);
    expect(CancelledError.isInstance(null)).toBe(false);
    expect(RuntimeError.isInstance(new NotImplementedError('x'))).toBe(true);
    expect(NotImplementedError.isInstance(new RuntimeError('x'))).toBe(false);
    expect(ConnectionError.isInstance(osErrorFromErrno(constants.errno.EPIPE, 'send'))).toBe(true);
  });

  it('IncompleteReadError and LimitOverrunError carry their data as asyncio', () => {
    const partial = new Uint8Array([1, 2]);
    const incomplete = new IncompleteReadError(partial, 5);
    expect(incomplete.partial).toBe(partial);
    expect(incomplete.expected).toBe(5);
    expect(incomplete.message).toBe('2 bytes read on a total of 5 expected bytes');
    expect(new IncompleteReadError(partial, null).message).toContain('undefined expected');
    expect(new LimitOverrunError('too long', 7).consumed).toBe(7);
  });
});

describe('OSError and the errno table', () => {
  it('maps errno numbers to PEP 3151 subclasses with code, errno and syscall', () => {
    const cases: Array<[string, (value: unknown) => boolean]> = [
      ['EAGAIN', BlockingIOError.isInstance],
      ['EINPROGRESS', BlockingIOError.isInstance],
      ['EPIPE', BrokenPipeError.isInstance],
      ['ECONNREFUSED', ConnectionRefusedError.isInstance],
      ['ECONNRESET', ConnectionResetError.isInstance],
      ['ENOENT', FileNotFoundError.isInstance],
    ];
    for (const [code, check] of cases) {
      const errno = errnoNumber(code)!;
      const error = osErrorFromErrno(errno, 'connect');
      expect(check(error)).toBe(true);
      expect(error).toBeInstanceOf(OSError);
      expect(error.code).toBe(code);
      expect(error.errno).toBe(errno);
      expect(error.syscall).toBe('connect');
      expect(error.message).toBe(`connect ${code}`);
    }
    const plain = osErrorFromErrno(errnoNumber('EINVAL')!, 'bind');
    expect(plain.constructor).toBe(OSError);
    expect(errnoName(99999)).toBe('E99999');
  });

  it('toOSError converts native { errno, syscall } objects, including negative libuv numbers', () => {
    const converted = toOSError(Object.assign(new Error('x'), { errno: constants.errno.ECONNRESET, syscall: 'recv' }));
    expect(ConnectionResetError.isInstance(converted)).toBe(true);
    const fromLibuv = toOSError({ errno: -constants.errno.EPIPE, syscall: 'write' }) as OSError;
    expect(fromLibuv.errno).toBe(constants.errno.EPIPE);
    const unrelated = new TypeError('nope');
    expect(toOSError(unrelated)).toBe(unrelated);
  });

  it('SSLCertVerificationError is an SSLError is an OSError, carrying code, reason and verifyMessage', () => {
    const error = new SSLCertVerificationError('certificate verify failed: certificate has expired (CERT_HAS_EXPIRED)', {
      code: 'CERT_HAS_EXPIRED',
      verifyMessage: 'certificate has expired',
    });
    expect(SSLCertVerificationError.isInstance(error)).toBe(true);
    expect(SSLError.isInstance(error)).toBe(true);
    expect(OSError.isInstance(error)).toBe(true);
    expect(error.name).toBe('SSLCertVerificationError');
    expect([error.code, error.reason, error.verifyMessage, error.syscall]).toEqual(['CERT_HAS_EXPIRED', 'CERT_HAS_EXPIRED', 'certificate has expired', 'ssl']);
    const plain = new SSLError('[SSL routines] wrong version number', { code: 'ERR_SSL_WRONG_VERSION_NUMBER', reason: 'wrong version number', library: 'SSL routines' });
    expect(SSLCertVerificationError.isInstance(plain)).toBe(false);
    expect([plain.reason, plain.library]).toEqual(['wrong version number', 'SSL routines']);
  });
});
