'use strict';
// The management server's resources: Listeners, Clusters and
// ClusterLoadAssignments given in proto3 JSON, encoded with the upstream
// protos. SotW versions are one counter per type, bumped by every change of
// that type (as a go-control-plane snapshot version); delta versions are per
// resource, a hash of its bytes (as go-control-plane computes them), so the
// same content has the same version across server restarts.

const crypto = require('crypto');
const protos = require('./protos');

const types = ['listener', 'cluster', 'endpoint'];
const messageNames = {
  listener: 'envoy.config.listener.v3.Listener',
  cluster: 'envoy.config.cluster.v3.Cluster',
  endpoint: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
};

function typeOfUrl(url) {
  return types.find((t) => protos.typeUrls[t] === url);
}

function nameOf(type, json) {
  const name = type === 'endpoint' ? json.cluster_name || json.clusterName : json.name;
  if (typeof name !== 'string' || name === '') {
    throw new Error(`${type}: a resource needs ${type === 'endpoint' ? 'cluster_name' : 'name'}`);
  }
  return name;
}

// Fields Sluice's proto subset does not define (meant to be skipped as
// unknown), put on every resource when the `extras` option is on. Only
// fields that change nothing at L4: a filter Sluice cannot enforce (an RBAC
// or connection limit in the chain) is another matter, which the scenarios
// test as a refusal.
function decorate(type, json) {
  const out = JSON.parse(JSON.stringify(json));
  const metadata = { filter_metadata: { 'sluice.interop': { added_by: 'interop', n: 1 } } };
  if (type === 'listener') {
    out.per_connection_buffer_limit_bytes = 32768;
    out.metadata = metadata;
    for (const chain of out.filter_chains || []) {
      chain.metadata = metadata;
      for (const filter of chain.filters || []) {
        if (filter.typed_config && /TcpProxy$/.test(filter.typed_config['@type'])) {
          filter.typed_config = { ...filter.typed_config, max_connect_attempts: 2 };
        }
      }
    }
  } else if (type === 'cluster') {
    out.circuit_breakers = { thresholds: [{ max_connections: 100000, max_pending_requests: 1000 }] };
    out.per_connection_buffer_limit_bytes = 32768;
    out.metadata = metadata;
  } else {
    out.policy = { overprovisioning_factor: 140 };
    for (const locality of out.endpoints || []) {
      for (const lb of locality.lb_endpoints || []) {
        lb.metadata = metadata;
        if (lb.endpoint) lb.endpoint.health_check_config = { port_value: 9901 };
      }
    }
  }
  return out;
}

// A field number upstream does not define either (1999, varint 1): a server
// newer than both.
const rawUnknownField = Buffer.from([0xf8, 0x7c, 0x01]);

class Store {
  constructor() {
    this.resources = { listener: new Map(), cluster: new Map(), endpoint: new Map() };
    this.versions = { listener: 0, cluster: 0, endpoint: 0 };
    this.options = { extras: false, raw_unknown: false, wrap_resource: false, legacy_wildcard: true };
    this.listeners = [];
  }

  sotwVersion(type) {
    return String(this.versions[type]);
  }

  encode(type, json) {
    const body = this.options.extras ? decorate(type, json) : json;
    let bytes = protos.encodeJson(messageNames[type], body, `${type} ${nameOf(type, json)}`);
    if (this.options.raw_unknown) bytes = Buffer.concat([bytes, rawUnknownField]);
    const version = crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    return { json, bytes, version };
  }

  // Applies {set: [{type, resource}], remove: [{type, name}]} whole or not
  // at all (an encoding error throws before anything changes). Returns the
  // types that changed.
  update({ set = [], remove = [] }) {
    const staged = types.map((t) => [t, new Map(this.resources[t])]);
    const next = Object.fromEntries(staged);
    for (const { type, resource } of set) {
      if (!types.includes(type)) throw new Error(`unknown type "${type}"`);
      next[type].set(nameOf(type, resource), this.encode(type, resource));
    }
    for (const { type, name } of remove) {
      if (!types.includes(type)) throw new Error(`unknown type "${type}"`);
      if (!next[type].delete(name)) throw new Error(`no ${type} "${name}"`);
    }
    return this.commit(next);
  }

  setOptions(options) {
    for (const [k, v] of Object.entries(options)) {
      if (!(k in this.options)) throw new Error(`unknown option "${k}"`);
      this.options[k] = v;
    }
    const next = {};
    for (const t of types) {
      next[t] = new Map([...this.resources[t]].map(([n, r]) => [n, this.encode(t, r.json)]));
    }
    return this.commit(next);
  }

  commit(next) {
    const changed = types.filter((t) => !sameResources(this.resources[t], next[t]));
    for (const t of changed) {
      this.resources[t] = next[t];
      this.versions[t] += 1;
    }
    if (changed.length) for (const listener of this.listeners) listener(changed);
    return changed;
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  dump() {
    const resources = {};
    for (const t of types) resources[t] = [...this.resources[t].values()].map((r) => r.json);
    return { versions: { ...this.versions }, options: { ...this.options }, resources };
  }

  load(state) {
    Object.assign(this.options, state.options || {});
    for (const t of types) {
      this.resources[t] = new Map();
      for (const json of (state.resources || {})[t] || []) this.resources[t].set(nameOf(t, json), this.encode(t, json));
      this.versions[t] = (state.versions || {})[t] || 0;
    }
  }
}

function sameResources(a, b) {
  if (a.size !== b.size) return false;
  for (const [name, r] of a) {
    const other = b.get(name);
    if (!other || other.version !== r.version) return false;
  }
  return true;
}

module.exports = { Store, types, typeOfUrl, messageNames };
