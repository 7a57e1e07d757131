'use strict';
// What both ADS streams share: the call they answer on, the store they serve,
// the request log, a per-stream nonce counter and per-type state.
class AdsStream {
  constructor(id, call, store, log) {
    this.id = id;
    this.call = call;
    this.store = store;
    this.log = log;
    this.nonce = 0;
    this.state = {};
  }

  onChange(changed) {
    for (const type of changed) this.evaluate(type);
  }

  nextNonce() {
    this.nonce += 1;
    return String(this.nonce);
  }
}

module.exports = { AdsStream };
