import { runNetworkConformance } from '@evloop/conformance';
import { SelectSelector } from '@evloop/selector-select';

// Under Wine (scripts/windows/run.sh sets EVLOOP_WINE), select() on Winsock
// does not report two things Linux and the IOCP proactor both report there.
const wine = process.env.EVLOOP_WINE === '1';

runNetworkConformance({
  name: 'select',
  createSelector: () => new SelectSelector(),
  features: {
    scalesBeyondFdSetsize: false,
    knownIssues: wine
      ? {
          'reset by the peer mid-write: connectionLost gets the error, nothing reaches the handler': 'under Wine, select() then recv() see a reset as a clean end of file',
          'a connected UDP socket to a closed port: errorReceived, the transport stays open': 'under Wine, select() never reports the ICMP port-unreachable error of a UDP socket',
        }
      : {},
  },
});
