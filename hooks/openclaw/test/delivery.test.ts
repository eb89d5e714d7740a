import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import {
  derivedId,
  envelope,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  readConfig,
  retryDelayMs,
  send,
  settle,
} from "../lib/core.js";
import { isolateSpool, type Receiver, startReceiver } from "./receiver.js";

describe("delivery", () => {
  let receiver: Receiver;
  before(async () => {
    isolateSpool();
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  it("retries a busy gateway briefly and delivers once", async () => {
    receiver.failNext = 1;
    const config = { ...readConfig({ AGENTMON_INGEST_URL: `${receiver.url}/` }), retries: 2 };
    const event = envelope("session.start", { session_id: "s" }, {}, { config });
    send([event], config);
    await settle();
    assert.equal(receiver.requests.length, 2);
    assert.deepEqual(receiver.events().map((e) => e.event.id), [event.event.id]);
  });

  it("waits the gateway's Retry-After before it retries", async () => {
    receiver.failNext = 1;
    receiver.retryAfter = "1";
    const start = receiver.requests.length;
    const config = { ...readConfig({ AGENTMON_INGEST_URL: receiver.url }), retries: 2 };
    const event = envelope("session.start", { session_id: "retry-after" }, {}, { config });
    send([event], config);
    await settle();
    receiver.retryAfter = "0";
    const [refused, retried] = receiver.arrivals.slice(start);
    assert.equal(receiver.requests.length - start, 2);
    assert.ok(retried - refused >= 1000, `retried after ${retried - refused} ms`);
    assert.ok(receiver.events().some((e) => e.event.id === event.event.id));
  });

  it("spools at once when the Retry-After is longer than it waits in memory", async () => {
    const spoolRoot = isolateSpool();
    receiver.failNext = 1;
    receiver.retryAfter = String(MAX_RETRY_AFTER_MS / 1000 + 110);
    const start = receiver.requests.length;
    const config = { ...readConfig({ AGENTMON_INGEST_URL: receiver.url, AGENTMON_SPOOL_DIR: spoolRoot }), retries: 2 };
    const event = envelope("session.start", { session_id: "later" }, {}, { config });
    send([event], config);
    await settle();
    receiver.retryAfter = "0";
    assert.equal(receiver.requests.length - start, 1);
    assert.equal(readdirSync(join(spoolRoot, "openclaw")).filter((n) => n.endsWith(".json")).length, 1);
    assert.ok(!receiver.events().some((e) => e.event.id === event.event.id));
  });

  for (const status of [401, 403, 404]) {  // (a 407 never reaches it: fetch throws)
    it(`keeps the events of a ${status} (a setting to fix) in the spool without retrying`, async () => {
      const spoolRoot = isolateSpool();
      receiver.failNext = 1;
      receiver.failStatus = status;
      const start = receiver.requests.length;
      const config = { ...readConfig({ AGENTMON_INGEST_URL: receiver.url, AGENTMON_SPOOL_DIR: spoolRoot }), retries: 2 };
      const event = envelope("session.start", { session_id: `kept-${status}` }, {}, { config });
      send([event], config);
      await settle();
      receiver.failStatus = 503;
      assert.equal(receiver.requests.length - start, 1);
      assert.equal(readdirSync(join(spoolRoot, "openclaw")).filter((n) => n.endsWith(".json")).length, 1);
    });
  }

  it("retries a timed-out request (408) and delivers once", async () => {
    receiver.failNext = 1;
    receiver.failStatus = 408;
    const start = receiver.requests.length;
    const config = { ...readConfig({ AGENTMON_INGEST_URL: receiver.url }), retries: 2 };
    const event = envelope("session.start", { session_id: "timed-out" }, {}, { config });
    send([event], config);
    await settle();
    receiver.failStatus = 503;
    assert.equal(receiver.requests.length - start, 2);
    assert.ok(receiver.events().some((e) => e.event.id === event.event.id));
  });

  it("gives up on a batch the gateway refuses (400) rather than retrying it", async () => {
    const spoolRoot = isolateSpool();
    receiver.failNext = 1;
    receiver.failStatus = 400;
    const start = receiver.requests.length;
    const config = { ...readConfig({ AGENTMON_INGEST_URL: receiver.url, AGENTMON_SPOOL_DIR: spoolRoot }), retries: 2 };
    send([envelope("session.start", { session_id: "refused" }, {}, { config })], config);
    await settle();
    receiver.failStatus = 503;
    assert.equal(receiver.requests.length - start, 1);
    assert.deepEqual(readdirSync(spoolRoot), []);
  });

  it("backs off exponentially with full jitter, on top of Retry-After", () => {
    assert.equal(retryDelayMs(0, 1000, () => 0), 1000);
    assert.equal(retryDelayMs(0, 1000, () => 0.5), 1100);
    assert.equal(retryDelayMs(3, undefined, () => 0.5), 800);
    assert.notEqual(retryDelayMs(1, undefined, () => 0.1), retryDelayMs(1, undefined, () => 0.9));
    assert.ok(retryDelayMs(30, undefined, () => 0.999) < 5000);
    assert.equal(parseRetryAfter("2"), 2000);
    assert.equal(parseRetryAfter(" 0.5 "), 500);
    assert.equal(parseRetryAfter("Thu, 01 Jan 1970 00:00:30 GMT", 10_000), 20_000);
    assert.equal(parseRetryAfter("soon"), undefined);
    assert.equal(parseRetryAfter(null), undefined);
  });

  it("spools what an unreachable gateway missed and replays it on the next delivery", async () => {
    const spoolRoot = isolateSpool();
    const down = { ...readConfig({ AGENTMON_INGEST_URL: "http://127.0.0.1:9", AGENTMON_SPOOL_DIR: spoolRoot }), retries: 1 };
    const missed = envelope("session.start", { session_id: "offline" }, {}, { config: down });
    send([missed], down);
    await settle();
    assert.deepEqual(readdirSync(join(spoolRoot, "openclaw")).filter((n) => n.endsWith(".json")).length, 1);

    const up = { ...down, ingestUrl: receiver.url };
    const next = envelope("session.end", { session_id: "offline" }, {}, { config: up });
    send([next], up);
    await settle();
    const ids = receiver.events().map((e) => e.event.id);
    assert.ok(ids.includes(missed.event.id) && ids.includes(next.event.id));
    assert.deepEqual(readdirSync(join(spoolRoot, "openclaw")), []);
  });

  it("derives RFC 4122 version 5 ids deterministically", () => {
    const id = derivedId("openclaw", "session", "span", "tool:call_1");
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(id, derivedId("openclaw", "session", "span", "tool:call_1"));
    assert.notEqual(id, derivedId("openclaw", "other", "span", "tool:call_1"));
  });
});
