import { addonLoader, type NativeSelectorBinding } from '@evloop/interface';

/**
 * What `selector_poll.node` exports: the binding class and a probe, or, when
 * it was built where poll(2) does not exist, only why (evloop/platform.h).
 */
export type PollNative =
  | {
      /** A poll(2) registration set, waiting on a helper thread when watched. */
      Selector: new () => NativeSelectorBinding;
      /** Opens a pipe, waits on it with poll(2) and closes it; throws `{ errno, code, syscall }` when poll(2) does not work. */
      probe(): void;
      unsupportedReason?: undefined;
    }
  | { unsupportedReason: string };

/** Loads the addon once; throws the load error (the same one on every call). */
export const loadNative = addonLoader<PollNative>(import.meta.url);
