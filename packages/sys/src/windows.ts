import { NotImplementedError } from '@evloop/interface';

/** Whether this is Windows, where @evloop/sys is Winsock sockets only. */
export const isWindows = process.platform === 'win32';

/**
 * Throws NotImplementedError on Windows for what Winsock has no equivalent
 * of (pipes and PTYs as fds, Unix sockets, SCM_RIGHTS, sendmsg/recvmsg).
 */
export function posixOnly(what: string): void {
  if (isWindows) throw new NotImplementedError(`@evloop/sys: ${what} is not available on Windows (Winsock sockets only)`);
}
