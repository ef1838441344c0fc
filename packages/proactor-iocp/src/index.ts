import { BACKEND_SPECIFICATION_VERSION, KNOWN_BACKENDS, type Availability, type BackendDescriptor } from '@evloop/interface';
import { loadNative } from './load-native.js';
import { IocpProactor } from './iocp-proactor.js';

export { IocpProactor } from './iocp-proactor.js';

const known = KNOWN_BACKENDS.find((entry) => entry.name === 'iocp')!;

function available(): Availability {
  if (process.platform !== 'win32') {
    return { ok: false, reason: `I/O completion ports exist only on Windows, not on ${process.platform}` };
  }
  let native;
  try {
    native = loadNative();
  } catch (error) {
    return { ok: false, reason: `the native addon could not be loaded (reinstall, or build it with \`pnpm native:build\`): ${error instanceof Error ? error.message : String(error)}` };
  }
  if (native.unsupportedReason !== undefined) return { ok: false, reason: native.unsupportedReason };
  // A real port and a real packet through it.
  const failure = native.probeUsable();
  if (failure === null) return { ok: true, notes: 'sockets, named pipes and subprocesses; addReader/addWriter watch sockets through AFD polls; sendfile is TransmitFile' };
  return { ok: false, reason: `a completion port could not be used: ${failure.message}; use select instead` };
}

/** The IOCP backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = Object.freeze({
  specificationVersion: BACKEND_SPECIFICATION_VERSION,
  name: known.name,
  kind: known.kind,
  packageName: known.packageName,
  platforms: known.platforms,
  available,
  createProactor: () => new IocpProactor(),
});
