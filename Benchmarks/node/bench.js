'use strict';
// Node.js contender for the SwiftUV benchmark suite.
// Contract: ../WORKLOADS.md.  Usage: node Benchmarks/node/bench.js WORKLOAD [--quick]
// Prints `RESULT <workload> <metric> <value>` lines and exits 0, or prints
// `UNSUPPORTED <workload>` and exits 3 for a workload Node cannot express.
// Only Node's built-in modules are used.

const fs = require('fs');
const net = require('net');
const dgram = require('dgram');
const dns = require('dns');
const os = require('os');
const path = require('path');
const childProcess = require('child_process');

const args = process.argv.slice(2);
const workload = args.find((a) => !a.startsWith('--'));
const quick = args.includes('--quick');

const now = () => process.hrtime.bigint();
const secondsSince = (t0) => Number(now() - t0) / 1e9;
const size = (full, small) => (quick ? small : full);
const DURATION_MS = size(5000, 1000);

function result(metric, value) {
  process.stdout.write(`RESULT ${workload} ${metric} ${value}\n`);
}

function fmt(x) {
  // Plain decimal, enough significant digits, no exponent for ordinary values.
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(1);
  if (a >= 1) return x.toFixed(4);
  return x.toPrecision(6);
}

function unsupported() {
  process.stdout.write(`UNSUPPORTED ${workload}\n`);
  process.exit(3);
}

function fail(msg) {
  process.stderr.write(`bench.js ${workload}: ${msg}\n`);
  process.exit(1);
}

// ---------------------------------------------------------------------------

function loopCount() {
  // One setImmediate chain: each callback schedules the next (check phase,
  // one callback per loop iteration), N iterations.
  const N = size(2000000, 500000);
  let count = 0;
  const t0 = now();
  function tick() {
    if (++count === N) {
      const s = secondsSince(t0);
      result('rate', fmt(N / s));
      return; // nothing left: the process ends by itself
    }
    setImmediate(tick);
  }
  setImmediate(tick);
}

function millionTimers() {
  const N = size(1000000, 200000);
  const perMs = N / 1000;
  let fired = 0;
  let timers = null;
  let tInit = 0n;
  let tDispatch = 0n;

  function cb() {
    if (++fired === N) {
      tDispatch = now();
      // Cleanup: every timer has fired (repeat 0), so there is nothing to
      // clearTimeout or close in Node; the only work left is dropping the
      // references to the Timeout objects. Time exactly that, and report
      // it honestly (it is ~0).
      const c0 = now();
      timers.length = 0;
      timers = null;
      const c1 = now();
      const init = Number(tInit - t0) / 1e9;
      const dispatch = Number(tDispatch - tInit) / 1e9;
      const cleanup = Number(c1 - c0) / 1e9;
      result('init_s', fmt(init));
      result('dispatch_s', fmt(dispatch));
      result('cleanup_s', fmt(cleanup));
      result('total_s', fmt(init + dispatch + cleanup));
      result('bytes_per_timer', fmt((rss1 - rss0) / N));
    }
  }

  // Resident memory before allocating anything for the timers (the array
  // holding them included, as libuv's version mallocs its uv_timer_t array).
  // process.memoryUsage.rss() is libuv's uv_resident_set_memory, which reads
  // /proc/self/stat (the same resident figure as /proc/self/statm).
  const rss0 = process.memoryUsage.rss();
  const t0 = now();
  timers = new Array(N);
  for (let i = 0; i < N; i++) {
    // Note: Node timestamps each timer with the current time (it updates the
    // loop clock on every setTimeout), libuv with the loop's cached time, so
    // the last timer fires ~1000 ms after it was created, not after the run
    // started: dispatch_s here is bounded below by ~1 s.
    timers[i] = setTimeout(cb, 1 + Math.floor(i / perMs));
  }
  tInit = now();
  const rss1 = process.memoryUsage.rss();
}

function fsStat() {
  const N = size(1000000, 200000);
  const M = size(100000, 20000);

  let t0 = now();
  for (let i = 0; i < N; i++) fs.statSync('.');
  result('sync_rate', fmt(N / secondsSince(t0)));

  const levels = [1, 4, 8, 16];
  let li = 0;
  function runLevel() {
    if (li === levels.length) return; // done; process ends by itself
    const C = levels[li++];
    let started = 0;
    let done = 0;
    const start = now();
    function onStat(err) {
      if (err) fail(`fs.stat: ${err.message}`);
      done++;
      if (started < M) {
        started++;
        fs.stat('.', onStat);
      } else if (done === M) {
        result(`async${C}_rate`, fmt(M / secondsSince(start)));
        runLevel();
      }
    }
    for (let i = 0; i < C && started < M; i++) {
      started++;
      fs.stat('.', onStat);
    }
  }
  runLevel();
}

// A whole file with fs.readFile (open, fstat, read, close on libuv's pool),
// one in flight: N files of 4 KiB, then M of 1 MiB.
function readFile() {
  const os = require('os');
  const path = require('path');
  const small = path.join(os.tmpdir(), `nodebench-read-4k-${process.pid}`);
  const large = path.join(os.tmpdir(), `nodebench-read-1m-${process.pid}`);
  const pattern = (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 31) & 0xff; return b; };
  fs.writeFileSync(small, pattern(4096));
  fs.writeFileSync(large, pattern(1 << 20));
  const runs = [[small, 4096, size(20000, 5000), 'rate_4k'], [large, 1 << 20, size(500, 100), 'rate_1m']];
  function next(i) {
    if (i === runs.length) { fs.unlinkSync(small); fs.unlinkSync(large); return; }
    const [file, bytes, n, metric] = runs[i];
    let done = 0;
    const start = now();
    function onRead(err, data) {
      if (err) fail(`fs.readFile: ${err.message}`);
      if (data.length !== bytes) fail(`fs.readFile: ${data.length} bytes`);
      if (++done < n) return fs.readFile(file, onRead);
      result(metric, fmt(n / secondsSince(start)));
      next(i + 1);
    }
    fs.readFile(file, onRead);
  }
  next(0);
}

function getaddrinfo() {
  const N = size(10000, 2000);
  const CONCURRENT = 10;
  let started = 0;
  let done = 0;
  const t0 = now();
  function onLookup(err) {
    if (err) fail(`dns.lookup: ${err.message}`);
    done++;
    if (started < N) {
      started++;
      dns.lookup('localhost', onLookup);
    } else if (done === N) {
      result('rate', fmt(N / secondsSince(t0)));
    }
  }
  for (let i = 0; i < CONCURRENT && started < N; i++) {
    started++;
    dns.lookup('localhost', onLookup);
  }
}

function spawn() {
  const N = size(1000, 200);
  let done = 0;
  const t0 = now();
  function one() {
    const child = childProcess.spawn('/bin/sh', ['-c', 'echo hello; exit 42'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = 0;
    child.stdout.on('data', (d) => { out += d.length; });
    child.on('error', (e) => fail(`spawn: ${e.message}`));
    // 'close' is emitted only after the child exited AND its stdout hit EOF.
    child.on('close', (code, signal) => {
      if (code !== 42) fail(`child exit code ${code} signal ${signal}`);
      if (out !== 6) fail(`child stdout ${out} bytes, expected 6`);
      if (++done === N) {
        result('rate', fmt(N / secondsSince(t0)));
        return;
      }
      one();
    });
  }
  one();
}

function pingPongs() {
  const PING = Buffer.from('PING\n');
  const server = net.createServer((conn) => {
    conn.on('data', (d) => conn.write(d));
    conn.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => {
    const client = net.connect(server.address().port, '127.0.0.1');
    client.setNoDelay(true);
    let pongs = 0;
    let got = 0;
    let t0;
    client.on('connect', () => {
      t0 = now();
      setTimeout(() => {
        result('rate', fmt(pongs / secondsSince(t0)));
        client.destroy();
        server.close();
        process.exit(0);
      }, DURATION_MS);
      client.write(PING);
    });
    client.on('data', (d) => {
      got += d.length;
      while (got >= PING.length) {
        got -= PING.length;
        pongs++;
        client.write(PING);
      }
    });
    client.on('error', (e) => fail(`client: ${e.message}`));
  });
}

function pump(listenArgs, connectArgs, cleanupFn) {
  const buf = Buffer.alloc(8192, 0x61);
  let bytes = 0;
  const server = net.createServer((conn) => {
    conn.on('data', (d) => { bytes += d.length; });
    conn.on('error', () => {});
  });
  server.listen(...listenArgs, () => {
    const client = net.connect(...connectArgs());
    let stopped = false;
    let t0;
    function write() {
      if (stopped) return;
      client.write(buf, onWrite);
    }
    function onWrite(err) {
      if (err) { if (!stopped) fail(`write: ${err.message}`); return; }
      write();
    }
    client.on('connect', () => {
      t0 = now();
      bytes = 0;
      setTimeout(() => {
        stopped = true;
        const s = secondsSince(t0);
        result('gbit_s', fmt((bytes * 8) / s / 1e9));
        client.destroy();
        server.close();
        if (cleanupFn) cleanupFn();
        process.exit(0);
      }, DURATION_MS);
      write();
    });
    client.on('error', (e) => { if (!stopped) fail(`client: ${e.message}`); });
  });
  return server;
}

function tcpPump1() {
  let server = null;
  server = pump([0, '127.0.0.1'], () => [server.address().port, '127.0.0.1']);
}

function pipePump1() {
  const sock = path.join(os.tmpdir(), `swiftuv-node-pump-${process.pid}.sock`);
  try { fs.unlinkSync(sock); } catch (_) {}
  pump([sock], () => [sock], () => { try { fs.unlinkSync(sock); } catch (_) {} });
}

function tcpWriteBatch() {
  const N = size(1000000, 200000);
  const buf = Buffer.from('Hello, world.'); // 13 bytes, one buffer for all writes
  if (buf.length !== 13) fail('buffer size');
  let received = 0;
  const server = net.createServer((conn) => {
    conn.on('data', (d) => { received += d.length; });
    conn.on('end', () => conn.end());
    conn.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => {
    const client = net.connect(server.address().port, '127.0.0.1');
    client.on('error', (e) => fail(`client: ${e.message}`));
    client.on('connect', () => {
      const t0 = now();
      // 'finish' fires once end() was called, every write was flushed and the
      // shutdown request completed (net.Socket._final -> afterShutdown).
      client.on('finish', () => {
        const s = secondsSince(t0);
        result('total_s', fmt(s));
        client.destroy();
        server.close();
        process.exit(0);
      });
      for (let i = 0; i < N; i++) client.write(buf);
      client.end();
    });
  });
}

function tcp4Pound100() {
  const CLIENTS = 100;
  const QS = Buffer.from('QS');
  let accepted = 0;
  let running = true;
  let t0;
  const server = net.createServer((conn) => {
    accepted++;
    conn.on('data', () => conn.destroy()); // close on the first read
    conn.on('end', () => conn.destroy());
    conn.on('error', () => conn.destroy());
  });
  server.on('error', (e) => fail(`server: ${e.message}`));
  server.listen(0, '127.0.0.1', 511, () => {
    const port = server.address().port;
    function connect() {
      if (!running) return;
      const c = net.connect(port, '127.0.0.1');
      c.on('connect', () => c.write(QS));
      c.on('data', () => {});
      c.on('end', () => c.destroy());
      c.on('error', () => {}); // 'close' follows
      c.on('close', connect);
    }
    t0 = now();
    setTimeout(() => {
      running = false;
      result('rate', fmt(accepted / secondsSince(t0)));
      server.close();
      process.exit(0);
    }, DURATION_MS);
    for (let i = 0; i < CLIENTS; i++) connect();
  });
}

function udpPummel1v1() {
  const msg = Buffer.alloc(45, 0x78);
  let received = 0;
  let running = true;
  const receiver = dgram.createSocket('udp4');
  const sender = dgram.createSocket('udp4');
  receiver.on('message', () => { received++; });
  receiver.on('error', (e) => fail(`receiver: ${e.message}`));
  sender.on('error', (e) => fail(`sender: ${e.message}`));
  receiver.bind(0, '127.0.0.1', () => {
    const port = receiver.address().port;
    sender.bind(0, '127.0.0.1', () => {
      function send() {
        sender.send(msg, port, '127.0.0.1', onSend);
      }
      // Node reports a send that completed synchronously (uv_udp_try_send
      // succeeded, the usual case on loopback) through process.nextTick, so
      // issuing the next send straight from the callback is a nextTick chain
      // that never returns to the event loop: the receiver never reads and
      // the duration timer never fires. libuv always defers a send callback
      // to a later loop iteration; setImmediate is Node's equivalent.
      function onSend(err) {
        if (err && running) fail(`send: ${err.message}`);
        if (running) setImmediate(send);
      }
      const t0 = now();
      setTimeout(() => {
        running = false;
        result('rate', fmt(received / secondsSince(t0)));
        sender.close();
        receiver.close();
        process.exit(0);
      }, DURATION_MS);
      send();
    });
  });
}

function pingUdp1() {
  const msg = Buffer.alloc(45, 0x50);
  let trips = 0;
  let running = true;
  const sock = dgram.createSocket('udp4');
  sock.on('error', (e) => fail(`socket: ${e.message}`));
  sock.bind(0, '127.0.0.1', () => {
    const port = sock.address().port;
    sock.on('message', () => {
      trips++;
      if (running) sock.send(msg, port, '127.0.0.1');
    });
    const t0 = now();
    setTimeout(() => {
      running = false;
      result('rate', fmt(trips / secondsSince(t0)));
      sock.close();
      process.exit(0);
    }, DURATION_MS);
    sock.send(msg, port, '127.0.0.1');
  });
}

// ping_pongs' round trip timed one by one, on a loop that also watches 1000
// idle connections (both ends of each) and runs a 1 ms setInterval; the
// percentiles of the recorded round trips (nearest rank) are the figures.
function tailLatency() {
  const IDLE = 1000;
  const WARMUP = 1000;
  const N = size(200000, 50000);
  const PING = Buffer.from('PING\n');
  const samples = new Float64Array(N); // nanoseconds
  samples.fill(0); // its pages touched now, not while measuring
  const idleClients = [];
  const idlePeers = [];
  let peer = null;
  let client = null;
  let timer = null;
  let connected = 0;
  let fires = 0;

  const server = net.createServer((conn) => {
    if (idlePeers.length < IDLE) {
      idlePeers.push(conn);
      conn.on('data', () => fail('an idle connection sent data'));
      conn.on('error', (e) => fail(`idle peer: ${e.message}`));
      if (idlePeers.length === IDLE && connected === IDLE) begin();
    } else {
      if (peer !== null) fail('more connections than expected');
      peer = conn; // the ping client's: echo every read
      conn.on('data', (d) => conn.write(d));
      conn.on('error', () => {});
    }
  });
  server.on('error', (e) => fail(`server: ${e.message}`));

  // The measured part: the timer, and the ping client.
  function begin() {
    timer = setInterval(() => { fires++; }, 1);
    client = net.connect(server.address().port, '127.0.0.1');
    client.setNoDelay(true);
    let got = 0;
    let trips = 0;
    let t0 = 0n;
    function ping() {
      t0 = now();
      client.write(PING);
    }
    client.on('connect', ping);
    client.on('data', (d) => {
      const t1 = now();
      got += d.length;
      if (got < PING.length) return;
      if (got > PING.length) fail(`${got} bytes back for one ping`);
      got = 0;
      if (trips >= WARMUP) samples[trips - WARMUP] = Number(t1 - t0);
      if (++trips === WARMUP + N) finish();
      else ping();
    });
    client.on('error', (e) => fail(`client: ${e.message}`));
  }

  function finish() {
    clearInterval(timer);
    for (const s of idleClients) s.destroy();
    for (const s of idlePeers) s.destroy();
    client.destroy();
    peer.destroy();
    server.close();
    samples.sort();
    // Nearest rank: the sorted sample at index ceil(p*N)-1, p = num/den.
    const us = (num, den) => samples[Math.floor((num * N + den - 1) / den) - 1] / 1000;
    result('p99_us', fmt(us(99, 100)));
    result('p50_us', fmt(us(1, 2)));
    result('p999_us', fmt(us(999, 1000)));
    result('max_us', fmt(samples[N - 1] / 1000));
    result('timer_fires', String(fires));
  }

  server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, () => {
    const port = server.address().port;
    for (let i = 0; i < IDLE; i++) {
      const c = net.connect(port, '127.0.0.1');
      c.pause(); // paused before it connects: never read from (as in the C contender)
      idleClients.push(c);
      c.on('connect', () => {
        if (++connected === IDLE && idlePeers.length === IDLE) begin();
      });
      c.on('error', (e) => fail(`idle client: ${e.message}`));
    }
  });
}

// ---------------------------------------------------------------------------

const workloads = {
  loop_count: loopCount,
  million_timers: millionTimers,
  // Node exposes no user-level cross-thread wakeup handle (uv_async_t) a
  // script can drive from another thread, and no way to queue an arbitrary
  // (empty) work item on libuv's thread pool.
  async_pummel_1: unsupported,
  async1: unsupported,
  queue_work: unsupported,
  fs_stat: fsStat,
  read_file: readFile,
  getaddrinfo: getaddrinfo,
  spawn: spawn,
  ping_pongs: pingPongs,
  tcp_pump1: tcpPump1,
  pipe_pump1: pipePump1,
  tcp_write_batch: tcpWriteBatch,
  tcp4_pound_100: tcp4Pound100,
  udp_pummel_1v1: udpPummel1v1,
  ping_udp1: pingUdp1,
  tail_latency: tailLatency,
};

if (!workload || !Object.prototype.hasOwnProperty.call(workloads, workload)) {
  process.stderr.write(
    `usage: node bench.js WORKLOAD [--quick]\nworkloads: ${Object.keys(workloads).join(' ')}\n`);
  process.exit(2);
}
workloads[workload]();
