// The hold stage of lazy loading (see dp/hold.h).
#include "dp/hold.h"

#include <rte_mbuf.h>

#include <cstring>

#include "dp/services.h"
#include "dp/worker.h"

namespace sluice::dp {

void LazyHold::postMiss(Worker& w, const ServiceVersion* svc) {
  MissMark& mark = marks_[svc->slot % kMissMarks];
  if (mark.slot == svc->slot && mark.gen == svc->gen &&
      w.now() - mark.posted < w.ctx().lazy_hold_tsc) {
    return;
  }
  ServiceMiss miss{};
  miss.family = svc->family;
  miss.proto = svc->proto;
  miss.port_be = svc->port_be;
  std::memcpy(miss.vip, svc->vip, sizeof(miss.vip));
  miss.slot = svc->slot;
  miss.gen = svc->gen;
  if (!misses_->post(miss)) {
    // Not marked: the next packet of this service tries again.
    w.counters().add(WorkerEvent::lazy_miss_ring_full);
    return;
  }
  mark.slot = svc->slot;
  mark.gen = svc->gen;
  mark.posted = w.now();
  w.counters().add(WorkerEvent::lazy_miss_posted);
}

Drop LazyHold::hold(Worker& w, rte_mbuf* m, const ServiceVersion* svc) {
  postMiss(w, svc);
  if (queue_.full()) return Drop::lazy_hold_full;
  queue_.push({m, svc->slot, svc->gen, w.now() + w.ctx().lazy_hold_tsc});
  w.counters().add(WorkerEvent::lazy_held);
  return Drop::kNone;
}

void LazyHold::service(Worker& w) {
  const ServiceTable& services = *w.ctx().services;
  const uint64_t now = w.now();
  uint32_t released = 0;
  // Packets leave the queue first and go through the pipeline after: one
  // that meets an on-demand service again is held anew, behind the others.
  queue_.sweep([&](HeldPacket& p) {
    const ServiceVersion* v = services.at(p.slot);
    if (v == nullptr || v->gen != p.gen) {
      w.drop(p.m, Drop::lazy_service_gone);
      return true;
    }
    if (!v->on_demand) {
      // Answered: should it be unloaded again, its next packet posts at once.
      MissMark& mark = marks_[p.slot % kMissMarks];
      if (mark.slot == p.slot && mark.gen == p.gen) mark.gen = 0;
      release_[released++] = p.m;
      return true;
    }
    if (now >= p.deadline) {
      w.drop(p.m, Drop::lazy_hold_timeout);
      return true;
    }
    return false;
  });
  if (released == 0) return;
  w.counters().add(WorkerEvent::lazy_released, released);
  for (uint32_t i = 0; i < released; i++) w.reinject(release_[i]);
}

void LazyHold::release(Worker& w) {
  // The data plane is stopping: what still waits has run out of time.
  queue_.sweep([&](HeldPacket& p) {
    w.drop(p.m, Drop::lazy_hold_timeout);
    return true;
  });
}

}  // namespace sluice::dp
