#!/usr/bin/env node
'use strict';
// Checks server.js on its own, before any Sluice is involved: a gRPC client
// speaks both ADS protocols to it and decodes every resource with the
// upstream protos. Prints "ok: ..." / "FAIL: ..." lines and "N passed,
// N failed"; exits 1 on any failure.
//
//   selfcheck.js

const { spawn } = require('child_process');
const path = require('path');
const readline = require('readline');
const grpc = require('@grpc/grpc-js');
const protos = require('./protos');

let passed = 0;
let failed = 0;
function check(ok, what, detail = '') {
  if (ok) {
    passed++;
    console.log(`ok: ${what}`);
  } else {
    failed++;
    console.log(`FAIL: ${what}${detail ? ': ' + detail : ''}`);
  }
}

const tcpProxy = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
function listener(name, vip, cluster) {
  return {
    name,
    address: { socket_address: { address: vip, port_value: 80, protocol: 'TCP' } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': tcpProxy, stat_prefix: name, cluster } }] }],
  };
}
function cluster(name) {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, lb_policy: 'MAGLEV' };
}
function cla(name, ...addresses) {
  return {
    cluster_name: name,
    endpoints: [{ lb_endpoints: addresses.map((a) => ({ endpoint: { address: { socket_address: { address: a, port_value: 8080 } } }, health_status: 'HEALTHY' })) }],
  };
}

// A stream's messages as a queue: next(ms) resolves with the next one or
// null after ms.
function reader(call) {
  const queue = [];
  const waiting = [];
  call.on('data', (m) => (waiting.length ? waiting.shift()(m) : queue.push(m)));
  call.on('error', () => {});
  return {
    next(ms = 3000) {
      if (queue.length) return Promise.resolve(queue.shift());
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(done), 1);
          resolve(null);
        }, ms);
        const done = (m) => {
          clearTimeout(timer);
          resolve(m);
        };
        waiting.push(done);
      });
    },
  };
}

function names(type, anys) {
  return anys.map((a) => {
    let any = a;
    if (a.type_url === protos.resourceTypeUrl) any = protos.decode(protos.resourceTypeUrl, a.value).resource;
    const body = any['@decoded'] || protos.decode(any.type_url, any.value);
    return type === 'endpoint' ? body.cluster_name : body.name;
  }).sort();
}

async function post(base, route, body) {
  const res = await fetch(base + route, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

function startServer() {
  const child = spawn(process.execPath, [path.join(__dirname, 'server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 10 s')), 10000);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /ads (\S+) control (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ child, ads: m[1], control: `http://${m[2]}` });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

const node = { id: 'selfcheck', cluster: 'interop' };

async function sotw(client, base) {
  const call = client.StreamAggregatedResources();
  const r = reader(call);
  const url = protos.typeUrls;
  call.write({ node, type_url: url.listener });
  let lds = await r.next();
  check(lds && lds.version_info === '1' && names('listener', lds.resources).join() === 'l1', 'sotw: LDS wildcard gets l1 at version 1', JSON.stringify(lds && lds.version_info));
  const decoded = protos.decode(url.listener, lds.resources[0].value);
  check(decoded.filter_chains[0].filters[0].typed_config['@decoded'].cluster === 'c1', 'sotw: the Listener decodes with the upstream protos, tcp_proxy inside');
  call.write({ type_url: url.listener, version_info: '1', response_nonce: lds.nonce });
  call.write({ type_url: url.cluster });
  const cds = await r.next();
  check(cds && names('cluster', cds.resources).join() === 'c1', 'sotw: CDS gets c1');
  call.write({ type_url: url.cluster, version_info: cds.version_info, response_nonce: cds.nonce });
  call.write({ type_url: url.endpoint, resource_names: ['c1'] });
  let eds = await r.next();
  check(eds && names('endpoint', eds.resources).join() === 'c1', 'sotw: EDS by name gets c1');
  call.write({ type_url: url.endpoint, resource_names: ['c1'], version_info: eds.version_info, response_nonce: eds.nonce });
  check((await r.next(300)) === null, 'sotw: an ACK of the current version gets no response');

  await post(base, '/update', { set: [{ type: 'endpoint', resource: cla('c1', '10.0.0.1', '10.0.0.3') }] });
  eds = await r.next();
  check(eds && eds.version_info === '2', 'sotw: an endpoint change is pushed at version 2');
  call.write({ type_url: url.endpoint, resource_names: ['c1'], version_info: '1', response_nonce: 'stale' });
  check((await r.next(300)) === null, 'sotw: a request with a stale nonce is ignored');
  call.write({ type_url: url.endpoint, resource_names: ['c1'], version_info: '1', response_nonce: eds.nonce, error_detail: { code: 3, message: 'bad' } });
  const again = await r.next();
  check(again && again.version_info === '2' && again.nonce !== eds.nonce, 'sotw: a NACK (last accepted version 1) gets version 2 again, as go-control-plane does');
  call.write({ type_url: url.endpoint, resource_names: ['c1'], version_info: '2', response_nonce: again.nonce });

  await post(base, '/update', { set: [{ type: 'cluster', resource: cluster('c2') }, { type: 'endpoint', resource: cla('c2', '10.0.0.9') }] });
  const got = [await r.next(), await r.next()];
  const edsPush = got.find((m) => m && m.type_url === url.endpoint);
  const cdsPush = got.find((m) => m && m.type_url === url.cluster);
  check(edsPush && edsPush.version_info === '3' && names('endpoint', edsPush.resources).join() === 'c1', 'sotw: a new CLA bumps EDS to 3; the response has only the subscribed c1');
  check(cdsPush && names('cluster', cdsPush.resources).join() === 'c1,c2', 'sotw: CDS is pushed whole: c1,c2');
  call.write({ type_url: url.cluster, version_info: cdsPush.version_info, response_nonce: cdsPush.nonce });
  call.write({ type_url: url.endpoint, resource_names: ['c1', 'c2'], version_info: '3', response_nonce: edsPush.nonce });
  const partial = await r.next();
  check(partial && partial.version_info === '3' && names('endpoint', partial.resources).join() === 'c2', 'sotw: subscribing c2 at the current version gets only c2 (partial EDS)');
  call.write({ type_url: url.endpoint, resource_names: ['c1', 'c2'], version_info: '3', response_nonce: partial.nonce });

  await post(base, '/options', { wrap_resource: true, extras: true });
  const wrapped = [await r.next(), await r.next(), await r.next()].filter(Boolean);
  lds = wrapped.find((m) => m.type_url === url.listener);
  const inner = lds && protos.decode(protos.resourceTypeUrl, lds.resources[0].value);
  check(lds && lds.resources[0].type_url === protos.resourceTypeUrl && inner.name === 'l1', 'sotw: wrap_resource puts each Listener in a discovery.v3.Resource');
  const decoded2 = inner && inner.resource['@decoded'];
  const chain = decoded2 && decoded2.filter_chains[0];
  check(chain && chain.metadata && chain.filters[0].typed_config['@decoded'].max_connect_attempts.value === 2 &&
    decoded2.per_connection_buffer_limit_bytes.value === 32768, 'sotw: extras add filter chain metadata, tcp_proxy max_connect_attempts, per_connection_buffer_limit_bytes', JSON.stringify(chain));
  call.end();
}

async function delta(client, base) {
  const url = protos.typeUrls;
  let call = client.DeltaAggregatedResources();
  let r = reader(call);
  call.write({ node, type_url: url.cluster });
  const cds = await r.next();
  const versions = Object.fromEntries((cds ? cds.resources : []).map((x) => [x.name, x.version]));
  check(cds && Object.keys(versions).sort().join() === 'c1,c2' && Object.values(versions).every((v) => v.length === 16), 'delta: CDS wildcard gets c1,c2 with per-resource versions');
  call.write({ type_url: url.cluster, response_nonce: cds.nonce });
  call.write({ type_url: url.endpoint, resource_names_subscribe: ['c1'] });
  const eds = await r.next();
  check(eds && eds.resources.length === 1 && eds.resources[0].name === 'c1', 'delta: EDS subscription to c1 gets c1 only');
  call.write({ type_url: url.endpoint, response_nonce: eds.nonce, error_detail: { code: 3, message: 'refused' } });
  check((await r.next(300)) === null, 'delta: a NACK gets nothing until the resource changes');

  await post(base, '/update', { remove: [{ type: 'cluster', name: 'c2' }] });
  const removed = await r.next();
  check(removed && (removed.removed_resources || []).join() === 'c2' && (removed.resources || []).length === 0, 'delta: removing c2 sends removed_resources [c2]');
  delete versions.c2;
  call.end();

  call = client.DeltaAggregatedResources();
  r = reader(call);
  call.write({ node, type_url: url.cluster, initial_resource_versions: versions });
  check((await r.next(300)) === null, 'delta: a new stream with initial_resource_versions at the current versions gets nothing');
  await post(base, '/update', { set: [{ type: 'cluster', resource: { ...cluster('c1'), lb_policy: 'RANDOM' } }] });
  const changed = await r.next();
  check(changed && changed.resources.length === 1 && changed.resources[0].name === 'c1' && changed.resources[0].version !== versions.c1, 'delta: a changed c1 is sent alone with a new version');
  call.write({ type_url: url.cluster, resource_names_unsubscribe: ['*'], response_nonce: changed.nonce });
  call.end();
}

async function main() {
  const server = await startServer();
  const base = server.control;
  try {
    const bad = await post(base, '/update', { set: [{ type: 'cluster', resource: { name: 'x', lb_polcy: 'MAGLEV' } }] });
    check(bad.status === 400 && /lb_polcy/.test(bad.body.error), 'control: a misspelt field is refused, named', bad.body.error);
    const ok = await post(base, '/update', {
      set: [{ type: 'listener', resource: listener('l1', '10.96.0.1', 'c1') }, { type: 'cluster', resource: cluster('c1') }, { type: 'endpoint', resource: cla('c1', '10.0.0.1', '10.0.0.2') }],
    });
    check(ok.status === 200 && ok.body.changed.length === 3, 'control: l1, c1 and its CLA set');
    const definition = grpc.loadPackageDefinition(protos.loadAdsDefinition());
    const Ads = definition.envoy.service.discovery.v3.AggregatedDiscoveryService;
    const client = new Ads(server.ads, grpc.credentials.createInsecure());
    await sotw(client, base);
    await post(base, '/options', { wrap_resource: false, extras: false });
    await delta(client, base);
    const logged = (await (await fetch(`${base}/log`)).json()).entries;
    const nack = logged.find((e) => e.dir === 'req' && e.proto === 'sotw' && e.error_detail);
    check(nack && nack.error_detail.message === 'bad' && nack.version_info === '1', 'log: the SotW NACK is recorded with error_detail and version_info');
    const resumed = logged.filter((e) => e.dir === 'req' && e.proto === 'delta' && Object.keys(e.initial_resource_versions).length > 0);
    check(resumed.length === 1 && resumed[0].node.id === 'selfcheck', 'log: the delta reconnect is recorded with initial_resource_versions and node');
    client.close();
  } catch (e) {
    check(false, 'selfcheck ran to the end', String(e.stack || e));
  } finally {
    server.child.kill('SIGTERM');
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
