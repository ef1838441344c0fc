/**
 * Type tests of the public API: `tsc --noEmit` (the package's `typecheck`,
 * which `pnpm test` runs first) checks every `expectTypeOf` here, and a
 * `@ts-expect-error` line fails the check if it ever compiles. At run time
 * the bodies are never called (they need a running loop and sockets), only
 * defined.
 */
import { describe, expectTypeOf, it } from 'vitest';
import {
  BaseEventLoop,
  BaseProtocol,
  ConnectionRefusedError,
  ConnectionResetError,
  Coroutine,
  DatagramProtocol,
  Future,
  PIPE,
  STDOUT,
  Protocol,
  Server,
  StreamReader,
  StreamWriter,
  Task,
  createSubprocessExec,
  createSubprocessShell,
  gather,
  getEventLoop,
  getRunningLoop,
  newEventLoop,
  openConnection,
  openUnixConnection,
  run,
  sleep,
  startServer,
  startUnixServer,
  waitFor,
  type AbstractEventLoop,
  type Address,
  type BaseTransport,
  type DatagramTransport,
  type InetAddress,
  type SubprocessTransport,
  type Transport,
  type TransportSocket,
  type ReadTransport,
  type WriteTransport,
} from '@evloop/core-policy';
import * as interfaceModule from '@evloop/interface';

/** Type-level checks only: the callback is compiled, never called (so nothing in it runs: no loop, no socket). */
function compileOnly(_body: () => unknown): void {}

describe('the loop a program gets', () => {
  it('getRunningLoop, getEventLoop and newEventLoop give the whole loop, networking included', () => {
    expectTypeOf(getRunningLoop).returns.toEqualTypeOf<BaseEventLoop>();
    expectTypeOf(getEventLoop).returns.toEqualTypeOf<BaseEventLoop>();
    expectTypeOf(newEventLoop).returns.toEqualTypeOf<BaseEventLoop>();
    expectTypeOf<BaseEventLoop>().toMatchTypeOf<AbstractEventLoop>();
    expectTypeOf<BaseEventLoop>().toHaveProperty('createServer');
    expectTypeOf<BaseEventLoop>().toHaveProperty('createDatagramEndpoint');
    expectTypeOf<BaseEventLoop>().toHaveProperty('subprocessExec');
    expectTypeOf<BaseEventLoop>().toHaveProperty('connectReadPipe');
    expectTypeOf<BaseEventLoop>().toHaveProperty('addSignalHandler');
    expectTypeOf<AbstractEventLoop>().toHaveProperty('createServer');
    expectTypeOf<AbstractEventLoop>().toHaveProperty('subprocessShell');
  });

  it('createFuture gives a Future<T> and createTask a Task<T>, with their whole API', () => {
    compileOnly(() => {
      const loop = getRunningLoop();
      const future = loop.createFuture<number>();
      expectTypeOf(future).toEqualTypeOf<Future<number>>();
      expectTypeOf(future.setResult).parameter(0).toEqualTypeOf<number>();
      const task = loop.createTask(sleep(1, 'x'));
      expectTypeOf(task).toEqualTypeOf<Task<string>>();
      expectTypeOf(task.getName()).toEqualTypeOf<string>();
    });
  });

  it('run() gives back what main returns', () => {
    compileOnly(() => {
      expectTypeOf(run(async () => 42)).toEqualTypeOf<Promise<number>>();
      expectTypeOf(run(function* main() {
        return 'done';
      })).toEqualTypeOf<Promise<string>>();
    });
  });
});

describe('awaitables are complete Promise-likes', () => {
  it('Coroutine, Future and Task have then, catch and finally', () => {
    compileOnly(() => {
      expectTypeOf(sleep(1)).toEqualTypeOf<Coroutine<undefined>>();
      expectTypeOf(sleep(1, 'a').catch(() => 0)).toEqualTypeOf<Promise<string | number>>();
      expectTypeOf(sleep(1, 'a').finally(() => {})).toEqualTypeOf<Promise<string>>();
    });
    compileOnly(() => {
      const loop = getRunningLoop();
      expectTypeOf(loop.createFuture<number>().catch(() => 'x')).toEqualTypeOf<Promise<number | string>>();
      expectTypeOf(loop.createTask(sleep(0, 1)).finally(() => {})).toEqualTypeOf<Promise<number>>();
    });
    compileOnly(() => expectTypeOf(waitFor(sleep(1, 7), 1)).toEqualTypeOf<Coroutine<number>>());
  });

  it('gather gives a tuple of the awaitables’ types', () => {
    compileOnly(async () => {
      const numberTask = getRunningLoop().createTask(async () => 1);
      const results = await gather(sleep(0.1, 'a'), numberTask, Promise.resolve(true), function* gen() {
        return 1n;
      });
      expectTypeOf(results).toEqualTypeOf<[string, number, boolean, bigint]>();
      const [first] = await gather(sleep(0.1, 'a'), { returnExceptions: false });
      expectTypeOf(first).toEqualTypeOf<string>();
      const withExceptions = await gather(sleep(0.1, 'a'), numberTask, { returnExceptions: true });
      expectTypeOf(withExceptions).toEqualTypeOf<[unknown, unknown]>();
      const many: Task<number>[] = [];
      expectTypeOf(await gather(...many)).toEqualTypeOf<number[]>();
    });
  });
});

describe('addresses by family', () => {
  it('a TCP server’s sockets give [host, port] (or the IPv6 four), a Unix server’s a path', () => {
    compileOnly(async () => {
      const loop = getRunningLoop();
      const server = await loop.createServer(() => new Protocol(), '127.0.0.1', 0);
      expectTypeOf(server).toEqualTypeOf<Server<InetAddress>>();
      const [host, port] = server.sockets[0].getsockname();
      expectTypeOf(host).toEqualTypeOf<string>();
      expectTypeOf(port).toEqualTypeOf<number>();
      const unixServer = await loop.createUnixServer(() => new Protocol(), '/tmp/x.sock');
      expectTypeOf(unixServer.sockets[0].getsockname()).toEqualTypeOf<string>();
      const streamServer = await startServer(() => {}, '127.0.0.1', 0);
      expectTypeOf(streamServer).toEqualTypeOf<Server<InetAddress>>();
      expectTypeOf(await startUnixServer(() => {}, '/tmp/y.sock')).toEqualTypeOf<Server<string>>();
    });
  });

  it('getExtraInfo is typed by key', () => {
    compileOnly(async () => {
      const loop = getRunningLoop();
      const [transport] = await loop.createConnection(() => new Protocol(), '127.0.0.1', 1);
      expectTypeOf(transport).toEqualTypeOf<Transport<InetAddress>>();
      expectTypeOf(transport.getExtraInfo('peername')).toEqualTypeOf<InetAddress | undefined>();
      expectTypeOf(transport.getExtraInfo('sockname', null)).toEqualTypeOf<InetAddress | null>();
      expectTypeOf(transport.getExtraInfo('socket')).toEqualTypeOf<TransportSocket<InetAddress> | undefined>();
      expectTypeOf(transport.getExtraInfo('cipher')).toEqualTypeOf<[name: string, version: string, bits: number] | undefined>();
      expectTypeOf(transport.getExtraInfo('compression')).toEqualTypeOf<string | null | undefined>();
      expectTypeOf(transport.getExtraInfo('something else')).toEqualTypeOf<unknown>();
      const [, writer] = await openConnection('127.0.0.1', 1);
      expectTypeOf(writer).toEqualTypeOf<StreamWriter<InetAddress>>();
      expectTypeOf(writer.getExtraInfo('peername')).toEqualTypeOf<InetAddress | null>();
      const [reader, unixWriter] = await openUnixConnection('/tmp/x.sock');
      expectTypeOf(reader).toEqualTypeOf<StreamReader>();
      expectTypeOf(unixWriter.getExtraInfo('peername')).toEqualTypeOf<string | null>();
    });
  });

  it('a datagram protocol is typed by its address', () => {
    class Echo extends DatagramProtocol<InetAddress> {
      override datagramReceived(data: Buffer, addr: InetAddress): void {
        const [host, port] = addr;
        expectTypeOf(host).toEqualTypeOf<string>();
        expectTypeOf(port).toEqualTypeOf<number>();
        expectTypeOf(data).toEqualTypeOf<Buffer>();
      }
    }
    expectTypeOf<Parameters<Echo['connectionMade']>[0]>().toEqualTypeOf<DatagramTransport<InetAddress>>();
    compileOnly(async () => {
      const [transport, protocol] = await getRunningLoop().createDatagramEndpoint(() => new Echo(), { localAddr: ['127.0.0.1', 0] });
      expectTypeOf(protocol).toEqualTypeOf<Echo>();
      expectTypeOf(transport.sendto).parameter(1).toEqualTypeOf<Address | null | undefined>();
    });
  });
});

describe('protocols are generic over their transport', () => {
  it('connectionMade receives the transport the protocol names', () => {
    class Echo extends Protocol<Transport> {
      override connectionMade(transport: Transport): void {
        transport.write(Buffer.from('hi'));
      }
    }
    expectTypeOf<Parameters<Echo['connectionMade']>[0]>().toEqualTypeOf<Transport>();
    expectTypeOf<Parameters<Protocol['connectionMade']>[0]>().toEqualTypeOf<Transport>();
    expectTypeOf<Parameters<BaseProtocol['connectionMade']>[0]>().toEqualTypeOf<BaseTransport>();
    expectTypeOf<Parameters<Protocol['dataReceived']>[0]>().toEqualTypeOf<Buffer>();
  });

  it('pipe and subprocess transports are typed by fd', () => {
    compileOnly(async () => {
      const loop = getRunningLoop();
      const [readTransport] = await loop.connectReadPipe(() => new Protocol(), 0);
      expectTypeOf(readTransport).toEqualTypeOf<ReadTransport>();
      const [transport] = await loop.subprocessExec(() => ({}), 'true');
      expectTypeOf(transport).toEqualTypeOf<SubprocessTransport>();
      expectTypeOf(transport.getPipeTransport(0)).toEqualTypeOf<WriteTransport | null>();
      expectTypeOf(transport.getPipeTransport(1)).toEqualTypeOf<ReadTransport | null>();
    });
  });
});

describe('subprocess streams by the pipes asked for', () => {
  it('communicate() gives Buffers where PIPE was asked for and null elsewhere', () => {
    compileOnly(async () => {
      const child = await createSubprocessExec('cat', '-', { stdin: PIPE, stdout: PIPE });
      expectTypeOf(child.stdin).toEqualTypeOf<StreamWriter>();
      expectTypeOf(child.stdout).toEqualTypeOf<StreamReader>();
      expectTypeOf(child.stderr).toEqualTypeOf<null>();
      const [stdout, stderr] = await child.communicate(Buffer.from('x'));
      expectTypeOf(stdout).toEqualTypeOf<Buffer>();
      expectTypeOf(stderr).toEqualTypeOf<null>();
      const inherited = await createSubprocessExec('true');
      expectTypeOf(inherited.stdout).toEqualTypeOf<null>();
      const merged = await createSubprocessShell('ls', { stdout: PIPE, stderr: STDOUT });
      expectTypeOf(merged.stdout).toEqualTypeOf<StreamReader>();
      expectTypeOf(merged.stderr).toEqualTypeOf<null>();
    });
  });
});

describe('one import is enough', () => {
  it('@evloop/core-policy re-exports every error class of @evloop/interface', async () => {
    const corePolicy = await import('@evloop/core-policy');
    const errorNames = Object.keys(interfaceModule).filter((name) => /^[A-Z]\w*Error$/.test(name));
    const missing = errorNames.filter((name) => !(name in corePolicy));
    expectTypeOf(ConnectionRefusedError.isInstance).guards.toEqualTypeOf<interfaceModule.OSError>();
    expectTypeOf(ConnectionResetError).toEqualTypeOf<typeof interfaceModule.ConnectionResetError>();
    if (missing.length > 0) throw new Error(`not re-exported: ${missing.join(', ')}`);
  });

  it('misuse does not compile', () => {
    compileOnly(async () => {
      const loop = getRunningLoop();
      // @ts-expect-error a Future's result has the future's type
      loop.createFuture<number>().setResult('text');
      const server = await loop.createServer(() => new Protocol(), '127.0.0.1', 0);
      // @ts-expect-error an IPv4/IPv6 address is not a string
      const path: string = server.sockets[0].getsockname();
      return path;
    });
  });
});
