import { osErrorFromErrno, toOSError } from '@evloop/interface';

/** Rethrow what the addon threw: `{ errno, syscall }` errors become typed OSErrors, anything else (TypeError, RangeError) passes through. */
export function rethrow(error: unknown): never {
  throw toOSError(error);
}

/** Throw the typed OSError for a data-path call that returned `-errno`. */
export function fail(negativeErrno: number, syscall: string): never {
  throw osErrorFromErrno(-negativeErrno, syscall);
}
