'use strict';
// A client of sluice-xds on the full upstream Envoy protos (those of
// @grpc/grpc-js-xds, loaded by tests/interop/protos.js), for
// xds_server_test.sh: SotW LDS (checked, ACKed), SotW CDS (checked,
// NACKed), delta EDS by name (checked, ACKed). Prints "ok: ..." or
// "FAIL: ..." per check; exits 1 when one failed.
//
// Usage: node xds_client.js TARGET WEB_NAME WEB_ENDPOINTS UDP_NAME

const path = require('path');

const interop = path.join(__dirname, '..', 'interop');
const grpc = require(require.resolve('@grpc/grpc-js', { paths: [interop] }));
const protos = require(path.join(interop, 'protos.js'));

const [target, webName, webEndpoints, udpName] = process.argv.slice(2);
const node = { id: 'cli-node' };
let failures = 0;

function check(ok, what) {
  console.log(`${ok ? 'ok' : 'FAIL'}: ${what}`);
  if (!ok) failures += 1;
}

// A stream whose responses wait in a queue; next() takes one, or fails
// after a deadline.
function open(client, method) {
  const call = client[method]();
  const queue = [];
  const waiters = [];
  call.on('data', (r) => (waiters.length ? waiters.shift()(r) : queue.push(r)));
  call.on('error', () => {});
  return {
    send: (request) => call.write(request),
    next: () =>
      queue.length
        ? Promise.resolve(queue.shift())
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no ${method} response in 5 s`)), 5000);
            waiters.push((r) => {
              clearTimeout(timer);
              resolve(r);
            });
          }),
    end: () => call.end(),
  };
}

function decodeAll(response) {
  return response.resources.map((any) => protos.decode(any.type_url, any.value));
}

async function main() {
  const ads = grpc.loadPackageDefinition(protos.loadAdsDefinition()).envoy.service.discovery.v3;
  const client = new ads.AggregatedDiscoveryService(target, grpc.credentials.createInsecure());

  const sotw = open(client, 'StreamAggregatedResources');
  sotw.send({ node, type_url: protos.typeUrls.listener });
  const lds = await sotw.next();
  const listeners = Object.fromEntries(decodeAll(lds).map((l) => [l.name, l]));
  check(lds.version_info === '1', `LDS version_info ${lds.version_info}`);
  const web = listeners[webName];
  const tcp = web && web.filter_chains[0].filters[0];
  check(
    tcp && tcp.name === 'envoy.filters.network.tcp_proxy' && tcp.typed_config['@decoded'].cluster === webName,
    `${webName}: tcp_proxy to cluster ${tcp && tcp.typed_config['@decoded'].cluster}`,
  );
  const udp = listeners[udpName];
  const filter = udp && udp.listener_filters && udp.listener_filters[0];
  check(
    filter && filter.name === 'envoy.filters.udp_listener.udp_proxy' &&
      filter.typed_config['@decoded'].cluster === udpName &&
      udp.address.socket_address.protocol === 'UDP',
    `${udpName}: upstream Listener.listener_filters[0] ${filter && filter.name} to cluster ` +
      `${filter && filter.typed_config['@decoded'].cluster}`,
  );
  sotw.send({ node, type_url: lds.type_url, version_info: lds.version_info, response_nonce: lds.nonce });

  sotw.send({ node, type_url: protos.typeUrls.cluster });
  const cds = await sotw.next();
  const cluster = decodeAll(cds).find((c) => c.name === webName);
  const eds = cluster && cluster.eds_cluster_config;
  check(
    cluster && cluster.type === 'EDS' && eds.service_name === webName && eds.eds_config.ads !== undefined &&
      eds.eds_config.resource_api_version === 'V3' && cluster.lb_policy === 'MAGLEV',
    `${webName}: cluster ${cluster && cluster.type} over ADS (${eds && eds.eds_config.resource_api_version}), ` +
      `${cluster && cluster.lb_policy}`,
  );
  sotw.send({
    node,
    type_url: cds.type_url,
    response_nonce: cds.nonce,
    error_detail: { code: 3, message: 'cli test refuses this' },
  });

  const delta = open(client, 'DeltaAggregatedResources');
  delta.send({ node, type_url: protos.typeUrls.endpoint, resource_names_subscribe: [webName] });
  const d = await delta.next();
  const names = d.resources.map((r) => r.name);
  const cla = d.resources.length === 1 && protos.decode(d.resources[0].resource.type_url, d.resources[0].resource.value);
  check(
    names.join() === webName && cla && cla.endpoints[0].lb_endpoints.length === Number(webEndpoints),
    `delta EDS ${names.join()}: ${cla && cla.endpoints[0].lb_endpoints.length} endpoints, version ` +
      `${d.resources[0] && d.resources[0].version}`,
  );
  delta.send({ node, type_url: d.type_url, response_nonce: d.nonce });

  // Let the server read the last ACK and NACK before the streams close.
  await new Promise((resolve) => setTimeout(resolve, 300));
  sotw.end();
  delta.end();
  client.close();
}

main()
  .catch((e) => check(false, e.message))
  .finally(() => process.exit(failures ? 1 : 0));
