#!/usr/bin/env node
'use strict';
// An Envoy management server for Sluice's interop tests: ADS (state of the
// world and delta) over @grpc/grpc-js, on the full upstream protos of
// @grpc/grpc-js-xds, driven by the test through a small JSON-over-HTTP
// control channel on loopback.
//
//   server.js [--port N] [--control-port N] [--state FILE]
//
// Both ports on 127.0.0.1 (0, the default, picks one). --state loads a state
// that GET /state returned (resources, versions and options), so a restarted
// server carries on where the killed one stopped. Prints
//   interop-xds: ads 127.0.0.1:P control 127.0.0.1:C
// once both listen.
//
// Control channel:
//   POST /update   {"set": [{"type": "listener"|"cluster"|"endpoint",
//                   "resource": {proto3 JSON}}], "remove": [{"type", "name"}]}
//                  applied whole or refused (400, the reason); pushed at once.
//                  Answers {"changed": [types], "versions": {...}}.
//   POST /options  {"extras": bool (fields Sluice's subset does not define on
//                   every resource), "raw_unknown": bool (a field number
//                   upstream does not define either), "wrap_resource": bool
//                   (SotW resources inside discovery.v3.Resource),
//                   "legacy_wildcard": bool}; re-encodes and pushes.
//   GET  /log?since=N   {"entries": [...], "next": M}: every request (node,
//                   version_info, response_nonce, error_detail, subscribe,
//                   unsubscribe, initial_resource_versions), response and
//                   stream open/close, numbered by "seq".
//   GET  /state    resources, versions, options.
//   GET  /streams  the open streams.

const http = require('http');
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const protos = require('./protos');
const { Store } = require('./store');
const { SotwStream } = require('./sotw');
const { DeltaStream } = require('./delta');

function parseArgs(argv) {
  const args = { port: 0, controlPort: 0, state: null };
  for (let i = 0; i < argv.length; i++) {
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    if (argv[i] === '--port') args.port = Number(next());
    else if (argv[i] === '--control-port') args.controlPort = Number(next());
    else if (argv[i] === '--state') args.state = next();
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

const entries = [];
function log(entry) {
  entries.push({ seq: entries.length, t: Date.now(), ...entry });
}

const store = new Store();
const streams = new Map();
let streamCount = 0;
store.onChange((changed) => {
  for (const s of streams.values()) s.onChange(changed);
});

function serveStream(Kind, proto) {
  return (call) => {
    const id = ++streamCount;
    const stream = new Kind(id, call, store, log);
    streams.set(id, stream);
    log({ stream: id, proto, dir: 'open', peer: call.getPeer() });
    const close = (why) => {
      if (!streams.delete(id)) return;
      log({ stream: id, proto, dir: 'close', why });
    };
    call.on('data', (req) => {
      try {
        stream.onRequest(req);
      } catch (e) {
        log({ stream: id, proto, dir: 'error', error: String(e.stack || e) });
        call.destroy(e);
      }
    });
    call.on('end', () => {
      close('client half-closed');
      call.end();
    });
    call.on('error', (e) => close(`error: ${e.message}`));
    call.on('cancelled', () => close('cancelled'));
    call.on('close', () => close('closed'));
  };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        const text = Buffer.concat(chunks).toString();
        resolve(text ? JSON.parse(text) : {});
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

async function control(req, res) {
  const url = new URL(req.url, 'http://control');
  const reply = (code, body) => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body) + '\n');
  };
  try {
    if (req.method === 'POST' && url.pathname === '/update') {
      const changed = store.update(await readBody(req));
      return reply(200, { changed, versions: store.versions });
    }
    if (req.method === 'POST' && url.pathname === '/options') {
      const changed = store.setOptions(await readBody(req));
      return reply(200, { changed, options: store.options, versions: store.versions });
    }
    if (req.method === 'GET' && url.pathname === '/log') {
      const since = Number(url.searchParams.get('since') || 0);
      return reply(200, { entries: entries.slice(since), next: entries.length });
    }
    if (req.method === 'GET' && url.pathname === '/state') return reply(200, store.dump());
    if (req.method === 'GET' && url.pathname === '/streams') {
      return reply(200, { streams: [...streams.values()].map((s) => ({ id: s.id, proto: s instanceof SotwStream ? 'sotw' : 'delta' })) });
    }
    return reply(404, { error: `no ${req.method} ${url.pathname}` });
  } catch (e) {
    return reply(400, { error: String(e.message || e) });
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.state) store.load(JSON.parse(fs.readFileSync(args.state, 'utf8')));
  const definition = grpc.loadPackageDefinition(protos.loadAdsDefinition());
  const ads = definition.envoy.service.discovery.v3.AggregatedDiscoveryService;
  const server = new grpc.Server({ 'grpc.max_send_message_length': 256 << 20 });
  server.addService(ads.service, {
    StreamAggregatedResources: serveStream(SotwStream, 'sotw'),
    DeltaAggregatedResources: serveStream(DeltaStream, 'delta'),
  });
  server.bindAsync(`127.0.0.1:${args.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      console.error(`interop-xds: cannot listen on 127.0.0.1:${args.port}: ${err.message}`);
      process.exit(1);
    }
    const httpServer = http.createServer((req, res) => {
      control(req, res);
    });
    httpServer.on('error', (e) => {
      console.error(`interop-xds: control channel: ${e.message}`);
      process.exit(1);
    });
    httpServer.listen(args.controlPort, '127.0.0.1', () => {
      console.log(`interop-xds: ads 127.0.0.1:${port} control 127.0.0.1:${httpServer.address().port}`);
    });
  });
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      server.forceShutdown();
      process.exit(0);
    });
  }
}

main();
