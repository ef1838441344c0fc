import { runTlsConformance } from '@evloop/conformance';
import { EpollSelector } from '@evloop/selector-epoll';

// The same suite on the JavaScript TLS path (Node's tls over a JS stream),
// the fallback where @evloop/tls-native cannot load.
runTlsConformance({
  name: 'epoll',
  engine: 'js',
  createSelector: () => new EpollSelector(),
});
