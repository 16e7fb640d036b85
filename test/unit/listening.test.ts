import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { diagnoseListening } from '../../src/checks/listen.js';
import { listeningSockets, parseProcNetTcp } from '../../src/runtime/listening.js';

const TCP4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 00000000:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1
   3: 050012AC:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1004 1 0000000000000000 100 0 0 10 0
   4: 0B00007F:A3C5 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1005 1 0000000000000000 100 0 0 10 0
`;

const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1388 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2003 1 0000000000000000 100 0 0 10 0
`;

test('/proc/net/tcp rows in LISTEN state become addresses and ports; connected rows and Docker\'s DNS (127.0.0.11) are skipped', () => {
  assert.deepEqual(parseProcNetTcp(TCP4), [
    { address: '127.0.0.1', port: 8080 },
    { address: '0.0.0.0', port: 5000 },
    { address: '172.18.0.5', port: 3000 },
  ]);
});

test('/proc/net/tcp6 rows: any address, loopback and IPv4-mapped loopback', () => {
  assert.deepEqual(parseProcNetTcp(TCP6), [
    { address: '::', port: 5000 },
    { address: '::1', port: 3000 },
    { address: '::ffff:127.0.0.1', port: 80 },
  ]);
});

test('listeningSockets reads what really listens in a process\'s network namespace', async () => {
  const servers = await Promise.all(
    ['127.0.0.1', '::'].map(
      (host) =>
        new Promise<net.Server>((resolve) => {
          const server = net.createServer();
          server.listen(0, host, () => resolve(server));
        }),
    ),
  );
  try {
    const sockets = await listeningSockets(process.pid);
    for (const server of servers) {
      const { address, port } = server.address() as net.AddressInfo;
      assert.ok(sockets?.some((s) => s.address === address && s.port === port), `${address}:${port} not in ${JSON.stringify(sockets)}`);
    }
  } finally {
    for (const server of servers) server.close();
  }
});

test('listeningSockets of a pid that does not exist is unknown, not empty', async () => {
  assert.equal(await listeningSockets(2 ** 22 + 1), undefined);
  assert.equal(await listeningSockets(0), undefined);
});

test('an app that listens on loopback only is told to listen on 0.0.0.0', () => {
  const cause = diagnoseListening([{ address: '127.0.0.1', port: 5000 }, { address: '::1', port: 5000 }], 5000);
  assert.match(cause!.problem, /listens on 127\.0\.0\.1:5000 and ::1:5000 only, which nothing outside its container can reach/);
  assert.match(cause!.fix, /0\.0\.0\.0:\$PORT/);
});

test('an app on another port is told which ports it uses and how to tell berth', () => {
  const cause = diagnoseListening([{ address: '0.0.0.0', port: 8080 }, { address: '::', port: 9090 }, { address: '::', port: 8080 }], 5000);
  assert.match(cause!.problem, /listens on port 8080, 9090 instead of \$PORT \(5000\)/);
  assert.match(cause!.fix, /config:set APP PORT=8080/);
});

test('an app with no listening socket, and cases with nothing to say', () => {
  assert.match(diagnoseListening([], 5000)!.problem, /nothing in the container listens/);
  assert.equal(diagnoseListening(undefined, 5000), undefined);
  assert.equal(diagnoseListening([{ address: '0.0.0.0', port: 5000 }], 5000), undefined);
  assert.equal(diagnoseListening([{ address: '127.0.0.1', port: 5000 }, { address: '0.0.0.0', port: 5000 }], 5000), undefined);
});
