import { addonLoader, type NativeSelectorBinding } from '@evloop/interface';

/**
 * What `selector_epoll.node` exports: the binding class and a probe, or, when
 * it was built where epoll does not exist, only why (evloop/platform.h).
 */
export type EpollNative =
  | {
      /**
       * Opens an epoll fd; throws `{ errno, code, syscall }` when it cannot.
       * With `helperThread`, `watch()` waits on a helper thread instead of a
       * libuv poll handle.
       */
      Selector: new (options?: { helperThread?: boolean }) => NativeSelectorBinding;
      /** Opens and closes an epoll fd; throws `{ errno, code, syscall }` when it cannot. */
      probe(): void;
      unsupportedReason?: undefined;
    }
  | { unsupportedReason: string };

/** Loads the addon once; throws the load error (the same one on every call). */
export const loadNative = addonLoader<EpollNative>(import.meta.url);
