'use strict';
// The full upstream Envoy v3 API as shipped in @grpc/grpc-js-xds (deps/):
// one protobufjs Root for encoding and decoding resources, and the
// proto-loader package definition of the ADS service, both from the same
// include directories, so bytes on the wire are upstream's and never the
// subset's in Sluice's proto/.
//
// Resources are given in proto3 JSON form (snake_case or lowerCamelCase
// names, enum names, "@type" in Any, "5s" durations, plain values for
// wrappers, plain objects for Struct). Unknown names and enum values throw:
// a typo in a test must not silently drop a field.

const fs = require('fs');
const path = require('path');
const protobuf = require('protobufjs');
const protoLoader = require('@grpc/proto-loader');

const depsDir = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const includeDirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(depsDir, d));

// Files whose messages tests use; imports come along.
const files = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy.proto',
  'envoy/extensions/filters/network/connection_limit/v3/connection_limit.proto',
  'google/rpc/status.proto',
];

const typeUrlPrefix = 'type.googleapis.com/';
const typeUrls = {
  listener: typeUrlPrefix + 'envoy.config.listener.v3.Listener',
  cluster: typeUrlPrefix + 'envoy.config.cluster.v3.Cluster',
  endpoint: typeUrlPrefix + 'envoy.config.endpoint.v3.ClusterLoadAssignment',
};
const resourceTypeUrl = typeUrlPrefix + 'envoy.service.discovery.v3.Resource';

function resolveInclude(origin, target) {
  if (path.isAbsolute(target)) return target;
  for (const dir of includeDirs) {
    const candidate = path.join(dir, target);
    if (fs.existsSync(candidate)) return candidate;
  }
  // google/protobuf/*.proto: protobufjs has these built in.
  return target;
}

function loadRoot() {
  const root = new protobuf.Root();
  root.resolvePath = resolveInclude;
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

const root = loadRoot();

function loadAdsDefinition() {
  return protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs,
  });
}

function lookupType(name) {
  return root.lookupType(name.startsWith('.') ? name.slice(1) : name);
}

function typeOfUrl(url) {
  return lookupType(url.slice(url.lastIndexOf('/') + 1));
}

const wrapperTypes = new Set([
  'google.protobuf.DoubleValue', 'google.protobuf.FloatValue', 'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value', 'google.protobuf.Int32Value', 'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue', 'google.protobuf.StringValue', 'google.protobuf.BytesValue',
]);

function parseDuration(text, where) {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(String(text));
  if (!m) throw new Error(`${where}: "${text}" is not a proto3 JSON duration`);
  const sign = m[1] ? -1 : 1;
  return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] || '').padEnd(9, '0')) };
}

function structValue(v) {
  // protobufjs' built-in struct.proto names these in lowerCamelCase.
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(structValue) } };
  return { structValue: structOf(v) };
}

function structOf(obj) {
  const fields = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = structValue(v);
  return { fields };
}

// proto3 JSON -> the plain object protobufjs' fromObject takes (keepCase).
function messageObject(type, json, where) {
  const name = type.fullName.slice(1);
  if (name === 'google.protobuf.Any') {
    const url = json['@type'];
    if (typeof url !== 'string') throw new Error(`${where}: an Any needs "@type"`);
    const inner = typeOfUrl(url);
    let body = json;
    if (special(inner)) body = json.value;
    else body = Object.fromEntries(Object.entries(json).filter(([k]) => k !== '@type'));
    return { type_url: url, value: encodeObject(inner, messageObject(inner, body, `${where}(${url})`)) };
  }
  if (wrapperTypes.has(name)) return { value: json };
  if (name === 'google.protobuf.Duration') return parseDuration(json, where);
  if (name === 'google.protobuf.Struct') return structOf(json);
  if (name === 'google.protobuf.Value') return structValue(json);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${where}: ${name} must be a JSON object`);
  }
  const out = {};
  for (const [key, value] of Object.entries(json)) {
    const field = type.fields[key] || Object.values(type.fields).find((f) => jsonName(f) === key);
    if (!field) throw new Error(`${where}.${key}: ${name} has no such field`);
    const at = `${where}.${field.name}`;
    if (field.map) {
      const m = {};
      for (const [k, v] of Object.entries(value)) m[k] = fieldValue(field, v, `${at}[${k}]`);
      out[field.name] = m;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new Error(`${at}: must be a list`);
      out[field.name] = value.map((v, i) => fieldValue(field, v, `${at}[${i}]`));
    } else {
      out[field.name] = fieldValue(field, value, at);
    }
  }
  return out;
}

function special(type) {
  const name = type.fullName.slice(1);
  return wrapperTypes.has(name) || ['google.protobuf.Duration', 'google.protobuf.Struct', 'google.protobuf.Value'].includes(name);
}

function jsonName(field) {
  return field.name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function fieldValue(field, value, where) {
  field.resolve();
  const t = field.resolvedType;
  if (t instanceof protobuf.Enum) {
    if (typeof value === 'number') return value;
    if (!(value in t.values)) throw new Error(`${where}: "${value}" is not a value of ${t.fullName.slice(1)}`);
    return t.values[value];
  }
  if (t instanceof protobuf.Type) return messageObject(t, value, where);
  return value;
}

function encodeObject(type, obj) {
  const message = type.fromObject(obj);
  const problem = type.verify(message);
  if (problem) throw new Error(`${type.fullName.slice(1)}: ${problem}`);
  return Buffer.from(type.encode(message).finish());
}

// Encodes a resource given in proto3 JSON as message TYPE_NAME.
function encodeJson(typeName, json, where = typeName) {
  const type = lookupType(typeName);
  return encodeObject(type, messageObject(type, json, where));
}

// Decodes bytes of TYPE_NAME (or a type URL) into a plain object, Any
// values decoded too (under "@decoded"), for checks and logs.
function decode(typeOrUrl, bytes) {
  const type = typeOrUrl.includes('/') ? typeOfUrl(typeOrUrl) : lookupType(typeOrUrl);
  const object = type.toObject(type.decode(bytes), { enums: String, longs: String, bytes: String, oneofs: true });
  return expandAny(object);
}

function expandAny(value) {
  if (Array.isArray(value)) return value.map(expandAny);
  if (value && typeof value === 'object') {
    if (typeof value.type_url === 'string' && 'value' in value) {
      try {
        return { '@type': value.type_url, '@decoded': decode(value.type_url, Buffer.from(value.value, 'base64')) };
      } catch (e) {
        return { '@type': value.type_url, '@error': String(e.message || e) };
      }
    }
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandAny(v);
    return out;
  }
  return value;
}

module.exports = {
  includeDirs,
  root,
  typeUrls,
  resourceTypeUrl,
  loadAdsDefinition,
  encodeJson,
  decode,
  lookupType,
};
