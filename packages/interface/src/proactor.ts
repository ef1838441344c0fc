/**
 * The proactor contract (completion-based I/O: IOCP, io_uring). Operations
 * are started at once and complete later; the loop is told through
 * `watch`. Filled in by the proactor backends' issue; the selector loop never
 * uses it.
 */
export interface Proactor {
  readonly backendName: string;
  readonly closed: boolean;
  close(): void;
}
