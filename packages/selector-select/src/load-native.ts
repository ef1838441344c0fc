import { addonLoader, type NativeSelectorBinding } from '@evloop/interface';

/**
 * What `selector_select.node` exports: the binding class and a probe, or, when
 * it was built where select(2) does not exist, only why (evloop/platform.h).
 */
export type SelectNative =
  | {
      /** A select(2) registration set, waiting on a helper thread when watched. */
      Selector: new () => NativeSelectorBinding;
      /** Opens a pipe, waits on it with select(2) and closes it; throws `{ errno, code, syscall }` when select(2) does not work. */
      probe(): void;
      /** The compile-time FD_SETSIZE: fds at or above it are refused by `add`. */
      FD_SETSIZE: number;
      unsupportedReason?: undefined;
    }
  | { unsupportedReason: string };

/** Loads the addon once; throws the load error (the same one on every call). */
export const loadNative = addonLoader<SelectNative>(import.meta.url);
