#include "dp/services.h"

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <cstring>
#include <set>

#include "dp/eth.h"

namespace sluice::dp {
namespace {

constexpr uint32_t kNone = 0xffffffff;

std::string endpointId(const EndpointSpec& e) {
  return e.toString();
}

void freeVersion(ServiceVersion* v) {
  if (v == nullptr) return;
  v->magic = kServiceVersionFreed;
  v->table_size = 0;
  v->endpoint_count = 0;
  rte_free(v);
}

void freeVersions(void* /*ctx*/, void* elems, unsigned n) {
  auto** versions = static_cast<ServiceVersion**>(elems);
  for (unsigned i = 0; i < n; i++) freeVersion(versions[i]);
}

}  // namespace

uint32_t ServiceTable::hashOf(const ServiceKey& k) {
  return VipIndex::hashOf(static_cast<uint8_t>(k.vip.family), static_cast<uint8_t>(k.proto),
                          rte_cpu_to_be_16(k.port), k.vip.bytes.data());
}

Result<std::unique_ptr<ServiceTable>> ServiceTable::create(const std::string& name,
                                                           uint32_t capacity,
                                                           uint32_t stat_capacity,
                                                           rte_rcu_qsbr* qsbr) {
  std::unique_ptr<ServiceTable> t(new ServiceTable());
  t->capacity_ = capacity;
  t->qsbr_ = qsbr;
  t->index_ = std::make_unique<VipIndex>(capacity);
  std::string dq_name = name + "_dq";
  rte_rcu_qsbr_dq_parameters dq{};
  dq.name = dq_name.c_str();
  dq.size = capacity * 2;
  dq.esize = sizeof(ServiceVersion*);
  dq.trigger_reclaim_limit = 64;
  dq.max_reclaim_size = 256;
  dq.free_fn = freeVersions;
  dq.p = t.get();
  dq.v = qsbr;
  t->dq_ = rte_rcu_qsbr_dq_create(&dq);
  if (t->dq_ == nullptr) {
    return Status::error("service defer queue: " + std::string(rte_strerror(rte_errno)));
  }
  t->slots_ = std::make_unique<std::atomic<ServiceVersion*>[]>(capacity);
  for (uint32_t i = 0; i < capacity; i++) t->slots_[i].store(nullptr);
  t->state_.resize(capacity);
  t->free_slots_.reserve(capacity);
  for (uint32_t i = capacity; i > 0; i--) t->free_slots_.push_back(i - 1);
  t->free_stats_.reserve(stat_capacity);
  for (uint32_t i = stat_capacity; i > 0; i--) t->free_stats_.push_back(i - 1);
  return t;
}

ServiceTable::~ServiceTable() {
  if (dq_ != nullptr) {
    // Nothing reads any more: the data plane is stopped.
    rte_rcu_qsbr_dq_reclaim(dq_, ~0u, nullptr, nullptr, nullptr);
    rte_rcu_qsbr_dq_delete(dq_);
  }
  if (slots_) {
    for (uint32_t i = 0; i < capacity_; i++) freeVersion(slots_[i].load());
  }
}

const ServiceVersion* ServiceTable::find(uint8_t family, uint8_t proto, uint16_t port_be,
                                         const uint8_t* vip, uint32_t hash) const {
  const ServiceVersion* found = nullptr;
  index_->find(hash, [&](uint32_t slot) {
    const ServiceVersion* v = at(slot);
    // The slot may have been handed to another service since it was indexed.
    if (v == nullptr || v->port_be != port_be || v->proto != proto || v->family != family ||
        !sameAddr(family == 4 ? Family::kV4 : Family::kV6, v->vip, vip)) {
      return false;
    }
    found = v;
    return true;
  });
  return found;
}

void ServiceTable::retire(ServiceVersion* old) {
  if (old == nullptr) return;
  if (rte_rcu_qsbr_dq_enqueue(dq_, &old) != 0) {
    // The queue is full of versions still in their grace period: wait for the
    // workers (the control plane may wait; they never do) and free now.
    rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
    freeVersion(old);
  }
}

Status ServiceTable::upsert(const ServiceSpec& spec, const std::vector<uint32_t>& table) {
  if (spec.endpoints.size() >= kNoEndpoint) {
    return Status::error(spec.key.toString() + ": more than 65534 endpoints");
  }
  if (spec.on_demand && !spec.endpoints.empty()) {
    return Status::error(spec.key.toString() + ": an on-demand service has no endpoints");
  }
  // An on-demand service gets no table whatever it is given: nothing is
  // picked from it, and its memory is the point of loading on demand.
  const size_t table_size = spec.on_demand ? 0 : table.size();
  if (!spec.on_demand && table.empty()) {
    return Status::error(spec.key.toString() + ": empty lookup table");
  }
  for (size_t i = 0; i < table_size; i++) {
    uint32_t e = table[i];
    if (e != kNone && e >= spec.endpoints.size()) {
      return Status::error(spec.key.toString() + ": lookup table refers to endpoint " +
                           std::to_string(e) + " of " + std::to_string(spec.endpoints.size()));
    }
  }
  const std::string name = spec.key.toString();
  auto found = by_key_.find(name);
  bool is_new = found == by_key_.end();
  if (is_new && free_slots_.empty()) {
    return Status::error(name + ": service table full (" + std::to_string(capacity_) + ")");
  }
  uint32_t slot = is_new ? free_slots_.back() : found->second;

  // Endpoint indices: kept for endpoints that stay, new ones for the others.
  SlotState next = is_new ? SlotState{} : state_[slot];
  if (is_new) next.gen = state_[slot].gen + 1;
  next.key = spec.key;
  std::map<std::string, EndpointState> kept;
  std::vector<uint16_t> index_of(spec.endpoints.size());
  std::set<std::string> seen;
  for (size_t i = 0; i < spec.endpoints.size(); i++) {
    std::string id = endpointId(spec.endpoints[i]);
    if (!seen.insert(id).second) return Status::error(name + ": duplicate endpoint " + id);
    auto it = next.endpoints.find(id);
    if (it != next.endpoints.end()) {
      kept[id] = it->second;
      next.endpoints.erase(it);
    }
  }
  // What is left in next.endpoints is leaving: its indices and cells are
  // reused once this version is in.
  std::vector<uint32_t> freed_stats;
  for (auto& [id, ep] : next.endpoints) {
    next.free_indices.push_back(ep.index);
    if (ep.stat != kNoStat) freed_stats.push_back(ep.stat);
  }
  next.endpoints.clear();
  next.order.clear();
  if (spec.endpoints.empty()) {
    // Nothing is left to keep an index for: start the array over, so a
    // service unloaded on demand keeps no slots. Flows still naming an old
    // index fail the version's bounds or generation check.
    next.free_indices.clear();
    next.next_index = 0;
  }
  std::vector<uint32_t> taken_stats;
  if (free_stats_.empty() && !retired_stats_.empty()) reclaim();
  for (size_t i = 0; i < spec.endpoints.size(); i++) {
    const EndpointSpec& e = spec.endpoints[i];
    std::string id = endpointId(e);
    auto it = kept.find(id);
    if (it == kept.end()) {
      uint16_t index;
      if (!next.free_indices.empty()) {
        index = next.free_indices.back();
        next.free_indices.pop_back();
      } else {
        index = next.next_index++;
      }
      uint32_t stat = kNoStat;
      if (!free_stats_.empty()) {
        stat = free_stats_.back();
        free_stats_.pop_back();
        taken_stats.push_back(stat);
      }
      it = kept.emplace(id, EndpointState{index, next_endpoint_gen_++, stat}).first;
    }
    index_of[i] = it->second.index;
    next.endpoints[id] = it->second;
    next.order.push_back({e.addr, e.port, it->second.gen, it->second.stat});
  }

  // The new version: header, endpoint array, table, in one allocation.
  size_t ep_bytes = sizeof(EndpointSlot) * next.next_index;
  size_t bytes = sizeof(ServiceVersion) + ep_bytes + sizeof(uint16_t) * table_size;
  auto* v = static_cast<ServiceVersion*>(rte_zmalloc("sluice_svc", bytes, RTE_CACHE_LINE_SIZE));
  if (v == nullptr) {
    free_stats_.insert(free_stats_.end(), taken_stats.begin(), taken_stats.end());
    return Status::error(name + ": out of memory for the new version");
  }
  auto* eps = reinterpret_cast<EndpointSlot*>(v + 1);
  auto* tab = reinterpret_cast<uint16_t*>(reinterpret_cast<uint8_t*>(eps) + ep_bytes);
  v->magic = kServiceVersionMagic;
  v->slot = slot;
  v->gen = next.gen;
  v->family = static_cast<uint8_t>(spec.key.vip.family);
  v->proto = static_cast<uint8_t>(spec.key.proto);
  v->port_be = rte_cpu_to_be_16(spec.key.port);
  std::memcpy(v->vip, spec.key.vip.bytes.data(), 16);
  v->mode = spec.mode;
  v->algorithm = spec.algorithm;
  v->affinity = spec.affinity_client_ip;
  v->on_demand = spec.on_demand;
  v->affinity_timeout_s = spec.affinity_timeout_s;
  v->table_size = static_cast<uint32_t>(table_size);
  v->endpoint_count = next.next_index;
  v->endpoints = eps;
  v->table = table_size == 0 ? nullptr : tab;
  for (size_t i = 0; i < spec.endpoints.size(); i++) {
    const EndpointSpec& e = spec.endpoints[i];
    EndpointSlot& s = eps[index_of[i]];
    std::memcpy(s.addr, e.addr.bytes.data(), 16);
    s.port_be = rte_cpu_to_be_16(e.port);
    s.state = e.state;
    const EndpointState& st = next.endpoints[endpointId(e)];
    s.gen = st.gen;
    s.stat = st.stat;
  }
  for (size_t i = 0; i < table_size; i++) {
    tab[i] = table[i] == kNone ? kNoEndpoint : index_of[table[i]];
  }
  version_bytes_ = version_bytes_ - next.bytes + bytes;
  next.bytes = bytes;

  ServiceVersion* old = slots_[slot].exchange(v, std::memory_order_acq_rel);
  if (is_new) {
    index_->insert(hashOf(spec.key), slot);
    free_slots_.pop_back();
    by_key_[name] = slot;
  }
  state_[slot] = std::move(next);
  retire(old);
  retireStats(std::move(freed_stats));
  return Status::ok();
}

Status ServiceTable::remove(const ServiceKey& key) {
  const std::string name = key.toString();
  auto it = by_key_.find(name);
  if (it == by_key_.end()) return Status::error(name + ": no such service");
  uint32_t slot = it->second;
  index_->erase(hashOf(key), slot);
  ServiceVersion* old = slots_[slot].exchange(nullptr, std::memory_order_acq_rel);
  retire(old);
  if (std::unique_ptr<VipIndex::Table> stale = index_->compactIfNeeded()) {
    // Workers may still be walking the old table: wait them out (the control
    // plane may wait; they never do).
    rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
  }
  std::vector<uint32_t> freed_stats;
  for (const auto& [id, ep] : state_[slot].endpoints) {
    if (ep.stat != kNoStat) freed_stats.push_back(ep.stat);
  }
  retireStats(std::move(freed_stats));
  version_bytes_ -= state_[slot].bytes;
  uint32_t gen = state_[slot].gen;
  state_[slot] = SlotState{};
  state_[slot].gen = gen;  // the next service here gets a newer one
  free_slots_.push_back(slot);
  by_key_.erase(it);
  return Status::ok();
}

void ServiceTable::retireStats(std::vector<uint32_t> stats) {
  if (stats.empty()) return;
  retired_stats_.push_back({rte_rcu_qsbr_start(qsbr_), std::move(stats)});
}

void ServiceTable::reclaim() {
  rte_rcu_qsbr_dq_reclaim(dq_, 256, nullptr, nullptr, nullptr);
  size_t done = 0;
  while (done < retired_stats_.size() &&
         rte_rcu_qsbr_check(qsbr_, retired_stats_[done].token, false) == 1) {
    const auto& s = retired_stats_[done++].stats;
    free_stats_.insert(free_stats_.end(), s.begin(), s.end());
  }
  retired_stats_.erase(retired_stats_.begin(),
                       retired_stats_.begin() + static_cast<ptrdiff_t>(done));
}

std::vector<ServiceTable::ServiceCells> ServiceTable::cells() const {
  std::vector<ServiceCells> out;
  out.reserve(by_key_.size());
  for (const auto& [name, slot] : by_key_) {
    const SlotState& st = state_[slot];
    out.push_back({st.key, slot, st.gen, st.order});
  }
  return out;
}

size_t ServiceTable::versionBytes(const ServiceKey& key) const {
  auto it = by_key_.find(key.toString());
  return it == by_key_.end() ? 0 : state_[it->second].bytes;
}

}  // namespace sluice::dp
