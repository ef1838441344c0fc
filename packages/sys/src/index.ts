/**
 * @evloop/sys: POSIX sockets, pipes and fd syscalls for evloop, shaped like
 * Python's `socket` and `os` modules. Errors are the typed `OSError`s of
 * `@evloop/interface`.
 */
export * from './constants.js';
export { type Address, type AddressInput, type Inet6Address, type InetAddress } from './address.js';
export {
  close,
  dup,
  getBlocking,
  getInheritable,
  openpty,
  pipe,
  type PipeOptions,
  read,
  readInto,
  sendfile,
  type SendfileInput,
  type SendfileOutput,
  setBlocking,
  setInheritable,
  write,
} from './fd.js';
export {
  type AcceptOptions,
  type AncillaryInput,
  type AncillaryItem,
  CMSG_LEN,
  CMSG_SPACE,
  fromfd,
  recvFds,
  sendFds,
  Socket,
  type SocketOptions,
  type SocketPairOptions,
  socketpair,
} from './socket.js';
export { getDebug, setDebug } from './debug.js';
export { connectPipeServer, createPipeServer, handleType, type NamedPipeServer } from './named-pipe.js';
export type { BytesLike } from './validate.js';
