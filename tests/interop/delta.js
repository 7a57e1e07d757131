'use strict';
// DeltaAggregatedResources, following go-control-plane's delta server and
// cache:
// - the first request of a type sets the subscription (an empty
//   resource_names_subscribe is a legacy wildcard, "*" an explicit one) and
//   takes initial_resource_versions as what the client already has;
// - later requests subscribe and unsubscribe names (unsubscribing "*" ends
//   the wildcard; an unsubscribed name is forgotten, so a new subscription
//   gets it again);
// - a response carries each subscribed resource whose version differs from
//   what the client has, and removed_resources for those it has that are
//   gone; the versions count as the client's once sent (ACK or NACK alike,
//   so a NACKed version is not sent again until it changes);
// - nothing is sent when nothing differs.

const protos = require('./protos');
const { typeOfUrl } = require('./store');
const { AdsStream } = require('./ads_stream');

// this.state: type -> {wildcard, subscribed, known: name -> version}
class DeltaStream extends AdsStream {
  onRequest(req) {
    const type = typeOfUrl(req.type_url);
    const subscribe = req.resource_names_subscribe || [];
    const unsubscribe = req.resource_names_unsubscribe || [];
    this.log({
      stream: this.id, proto: 'delta', dir: 'req', type: type || null, type_url: req.type_url,
      node: req.node || null, subscribe, unsubscribe,
      initial_resource_versions: req.initial_resource_versions || {},
      response_nonce: req.response_nonce || '', error_detail: req.error_detail || null,
    });
    if (!type) return;
    let st = this.state[type];
    if (!st) {
      st = {
        wildcard: (this.store.options.legacy_wildcard && subscribe.length === 0) || subscribe.includes('*'),
        subscribed: new Set(),
        known: new Map(Object.entries(req.initial_resource_versions || {})),
      };
      this.state[type] = st;
    } else if (subscribe.includes('*')) {
      st.wildcard = true;
    }
    for (const name of subscribe) if (name !== '*') st.subscribed.add(name);
    for (const name of unsubscribe) {
      if (name === '*') {
        st.wildcard = false;
        continue;
      }
      st.subscribed.delete(name);
      st.known.delete(name);
    }
    this.evaluate(type);
  }

  evaluate(type) {
    const st = this.state[type];
    if (!st) return;
    const resources = this.store.resources[type];
    const send = [];
    for (const [name, r] of resources) {
      if ((st.wildcard || st.subscribed.has(name)) && st.known.get(name) !== r.version) send.push(name);
    }
    const removed = [...st.known.keys()].filter((n) => !resources.has(n) && (st.wildcard || st.subscribed.has(n)));
    if (send.length === 0 && removed.length === 0) return;
    for (const n of send) st.known.set(n, resources.get(n).version);
    for (const n of removed) st.known.delete(n);
    const nonce = this.nextNonce();
    const typeUrl = protos.typeUrls[type];
    const version = this.store.sotwVersion(type);
    this.log({
      stream: this.id, proto: 'delta', dir: 'resp', type, system_version_info: version, nonce,
      resources: Object.fromEntries(send.map((n) => [n, resources.get(n).version])), removed,
    });
    this.call.write({
      system_version_info: version,
      resources: send.map((name) => {
        const r = resources.get(name);
        return { name, version: r.version, resource: { type_url: typeUrl, value: r.bytes } };
      }),
      type_url: typeUrl,
      removed_resources: removed,
      nonce,
    });
  }
}

module.exports = { DeltaStream };
