'use strict';
// StreamAggregatedResources (state of the world), following go-control-plane's
// server and snapshot cache:
// - a request whose response_nonce is not the last nonce sent for its type is
//   stale and ignored (it does not even change the subscription);
// - each accepted request opens a watch for its type at the request's
//   version_info; the watch answers at once if the type's version differs
//   (an ACK of the current version waits for the next change; a NACK, which
//   carries the last accepted version, gets the current resources again);
// - an empty resource_names on the first request is a (legacy) wildcard, "*"
//   an explicit one; Listener and Cluster responses carry the whole set;
//   an endpoint request at the current version that names resources not yet
//   sent gets only those (go-control-plane's partial EDS response).
// One difference: go-control-plane's ADS snapshot cache does not answer an
// endpoint request at all while the snapshot holds CLAs the request does not
// name (its ADS consistency rule); this server answers with the named ones,
// as a linear cache or a per-node snapshot would.

const protos = require('./protos');
const { typeOfUrl } = require('./store');
const { AdsStream } = require('./ads_stream');

const resourceType = protos.lookupType('envoy.service.discovery.v3.Resource');

// this.state: type -> {nonce, wildcard, legacy, subscribed, known, watch}
class SotwStream extends AdsStream {
  onRequest(req) {
    const type = typeOfUrl(req.type_url);
    this.log({
      stream: this.id, proto: 'sotw', dir: 'req', type: type || null, type_url: req.type_url,
      node: req.node || null, version_info: req.version_info || '', resource_names: req.resource_names || [],
      response_nonce: req.response_nonce || '', error_detail: req.error_detail || null,
    });
    if (!type) return;
    let st = this.state[type];
    if (st && st.nonce !== '' && (req.response_nonce || '') !== st.nonce) {
      this.log({ stream: this.id, proto: 'sotw', dir: 'stale', type, response_nonce: req.response_nonce || '', expected: st.nonce });
      return;
    }
    const names = req.resource_names || [];
    if (!st) {
      st = { nonce: '', legacy: this.store.options.legacy_wildcard && names.length === 0, known: new Map(), watch: null };
      this.state[type] = st;
    } else if (names.length > 0) {
      st.legacy = false;
    }
    st.wildcard = st.legacy || names.includes('*');
    st.subscribed = new Set(names.filter((n) => n !== '*'));
    st.watch = { version: req.version_info || '' };
    this.evaluate(type);
  }

  evaluate(type) {
    const st = this.state[type];
    if (!st || !st.watch) return;
    const resources = this.store.resources[type];
    const version = this.store.sotwVersion(type);
    const fullState = type !== 'endpoint';
    let changedNames = null;
    if (version === st.watch.version) {
      changedNames = new Set();
      for (const name of resources.keys()) {
        if ((st.wildcard || st.subscribed.has(name)) && !st.known.has(name)) changedNames.add(name);
      }
      const deleted = [...st.known.keys()].filter((n) => !resources.has(n) || (!st.wildcard && !st.subscribed.has(n)));
      if (changedNames.size === 0 && (!fullState || deleted.length === 0)) return;
      if (!fullState) {
        for (const n of deleted) st.known.delete(n);
      }
    }
    let send;
    if (changedNames === null || fullState) {
      send = [...resources.keys()].filter((n) => st.wildcard || st.subscribed.has(n));
      st.known = new Map(send.map((n) => [n, version]));
    } else {
      send = [...changedNames];
      for (const n of send) st.known.set(n, version);
    }
    this.respond(type, version, send);
  }

  respond(type, version, names) {
    const st = this.state[type];
    const typeUrl = protos.typeUrls[type];
    const wrap = this.store.options.wrap_resource;
    const resources = names.map((name) => {
      const r = this.store.resources[type].get(name);
      const any = { type_url: typeUrl, value: r.bytes };
      if (!wrap) return any;
      const wrapped = resourceType.encode(resourceType.fromObject({ name, version: r.version, resource: any })).finish();
      return { type_url: protos.resourceTypeUrl, value: Buffer.from(wrapped) };
    });
    st.nonce = this.nextNonce();
    st.watch = null;
    this.log({ stream: this.id, proto: 'sotw', dir: 'resp', type, version_info: version, nonce: st.nonce, resources: names, wrapped: wrap });
    this.call.write({ version_info: version, resources, type_url: typeUrl, nonce: st.nonce });
  }
}

module.exports = { SotwStream };
