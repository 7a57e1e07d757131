#include "cp/xds/xds_config.h"

namespace sluice::cp::xds {

namespace {

constexpr IntRange kReceiveBytes{64 << 10, 1 << 30};
constexpr IntRange kBackoffMs{10, 3600 * 1000};
constexpr IntRange kEvictIdleS{0, 7 * 86400};

void readNode(Errors& errors, const Setting& group, XdsNodeSpec& out) {
  GroupReader r(errors, group);
  if (const Setting* s = r.string("id", out.id, Need::kRequired); s != nullptr && out.id.empty()) {
    errors.add(*s, "must not be empty: management servers key their snapshots by node id");
  }
  r.string("cluster", out.cluster);
  r.string("region", out.region);
  r.string("zone", out.zone);
  r.string("sub_zone", out.sub_zone);
  r.finish();
}

void readTls(Errors& errors, const Setting& group, XdsTlsSpec& out) {
  GroupReader r(errors, group);
  if (const Setting* s = r.string("ca", out.ca_file, Need::kRequired);
      s != nullptr && out.ca_file.empty()) {
    errors.add(*s, "must not be empty");
  }
  const Setting* cert = r.string("cert", out.cert_file);
  const Setting* key = r.string("key", out.key_file);
  if ((cert == nullptr) != (key == nullptr)) {
    errors.add(cert != nullptr ? *cert : *key,
               "a client certificate needs both cert and key, or neither");
  }
  r.string("server_name", out.server_name);
  r.finish();
}

}  // namespace

void readXds(Errors& errors, const Setting& group, XdsSpec& out) {
  GroupReader r(errors, group);
  if (const Setting* s = r.string("server", out.server, Need::kRequired);
      s != nullptr && out.server.empty()) {
    errors.add(*s, "must not be empty");
  }
  static constexpr Choice<XdsMode> kModes[] = {{"delta", XdsMode::kDelta},
                                               {"sotw", XdsMode::kSotw}};
  r.choice("mode", out.mode, kModes);
  if (const Setting* node = r.group("node", Need::kRequired)) {
    readNode(errors, *node, out.node);
  }
  if (const Setting* tls = r.group("tls")) {
    readTls(errors, *tls, out.tls.emplace());
  }
  r.integer("max_receive_bytes", out.max_receive_bytes, kReceiveBytes);
  if (const Setting* backoff = r.group("backoff")) {
    GroupReader b(errors, *backoff);
    b.integer("initial_ms", out.backoff_initial_ms, kBackoffMs);
    const Setting* max = b.integer("max_ms", out.backoff_max_ms, kBackoffMs);
    b.finish();
    if (out.backoff_max_ms < out.backoff_initial_ms) {
      errors.add(max != nullptr ? *max : *backoff, "max_ms must be at least initial_ms");
    }
  }
  static constexpr Choice<ForwardMode> kModesFwd[] = {{"fullnat", ForwardMode::kFullNat},
                                                      {"dnat", ForwardMode::kDnat}};
  r.choice("forward_mode", out.forward_mode, kModesFwd);
  if (const Setting* lazy = r.typed("lazy", Need::kOptional, Setting::TypeBoolean, "a boolean")) {
    out.lazy = static_cast<bool>(*lazy);
  }
  const Setting* evict = r.integer("evict_idle_s", out.evict_idle_s, kEvictIdleS);
  if (evict != nullptr && out.evict_idle_s != 0 && !out.lazy) {
    // An evicted service comes back on its next packet, which is lazy loading.
    errors.add(*evict, "needs lazy = true");
  }
  r.finish();
}

}  // namespace sluice::cp::xds
