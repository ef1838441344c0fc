/**
 * Where evloop reports what asyncio sends to its `asyncio` logger: the default
 * exception handler, debug-mode warnings. Replace it with `setLogger` (for a
 * structured logger, or to capture messages in tests).
 */
export interface Logger {
  error(message: string, error?: unknown): void;
  warning(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

function format(error: unknown): string {
  if (error instanceof Error) return `\n${error.stack ?? `${error.name}: ${error.message}`}`;
  return error === undefined ? '' : `\n${String(error)}`;
}

export const consoleLogger: Logger = {
  error: (message, error) => console.error(`evloop: ${message}${format(error)}`),
  warning: (message) => console.warn(`evloop: ${message}`),
  info: (message) => console.info(`evloop: ${message}`),
  debug: (message) => console.debug(`evloop: ${message}`),
};

let current: Logger = consoleLogger;

export const logger: Logger = {
  error: (message, error) => current.error(message, error),
  warning: (message) => current.warning(message),
  info: (message) => current.info(message),
  debug: (message) => current.debug(message),
};

/** Replace the logger; `null` restores the console logger. Returns the previous one. */
export function setLogger(next: Logger | null): Logger {
  const previous = current;
  current = next ?? consoleLogger;
  return previous;
}
