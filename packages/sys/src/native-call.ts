import { toOSError } from '@evloop/interface';

/** Rethrow what the addon threw: `{ errno, syscall }` errors become typed OSErrors, anything else (TypeError, RangeError) passes through. */
export function rethrow(error: unknown): never {
  throw toOSError(error);
}
