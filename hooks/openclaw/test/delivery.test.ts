import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { derivedId, envelope, readConfig, send, settle } from "../lib/core.js";
import { type Receiver, startReceiver } from "./receiver.js";

describe("delivery", () => {
  let receiver: Receiver;
  before(async () => {
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

  it("gives up quietly when the gateway is unreachable", async () => {
    const config = { ...readConfig({ AGENTMON_INGEST_URL: "http://127.0.0.1:9" }), retries: 1 };
    send([envelope("session.start", { session_id: "s" }, {}, { config })], config);
    await settle();
  });

  it("derives RFC 4122 version 5 ids deterministically", () => {
    const id = derivedId("openclaw", "session", "span", "tool:call_1");
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(id, derivedId("openclaw", "session", "span", "tool:call_1"));
    assert.notEqual(id, derivedId("openclaw", "other", "span", "tool:call_1"));
  });
});
