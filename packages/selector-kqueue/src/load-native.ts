import { addonLoader, type NativeSelectorBinding } from '@evloop/interface';

/**
 * What `selector_kqueue.node` exports: the binding class and a probe, or, when
 * it was built where kqueue does not exist, only why (evloop/platform.h).
 */
export type KqueueNative =
  | {
      /** Opens a kqueue; throws `{ errno, code, syscall }` when it cannot. */
      Selector: new () => NativeSelectorBinding;
      /** Opens and closes a kqueue; throws `{ errno, code, syscall }` when it cannot. */
      probe(): void;
      unsupportedReason?: undefined;
    }
  | { unsupportedReason: string };

/** Loads the addon once; throws the load error (the same one on every call). */
export const loadNative = addonLoader<KqueueNative>(import.meta.url);
