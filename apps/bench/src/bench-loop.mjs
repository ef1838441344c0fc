// The loop a bench row labelled "evloop" runs on.
import { DefaultEventLoopPolicy, newEventLoop } from '@evloop/core-policy';

/**
 * The platform's selector backend for rows labelled "evloop" (epoll on
 * Linux), unless `backend` or EVLOOP_BACKEND names one. uring comes first in
 * the default order on Linux (where installed, as it is here), so leaving the
 * choice to discovery would run the "evloop" rows on uring too, and make
 * them incomparable with every figure recorded before; the uring rows name
 * it ("evloop uring").
 */
function benchBackend(backend) {
  return backend ?? (process.env.EVLOOP_BACKEND || (process.platform === 'linux' ? 'epoll' : undefined));
}

/** A new loop on `benchBackend(backend)`, or the default policy's where that names none. */
export function benchLoop(backend) {
  const name = benchBackend(backend);
  return name === undefined ? newEventLoop() : new DefaultEventLoopPolicy({ backend: name }).newEventLoop();
}
