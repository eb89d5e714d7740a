import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";

import handler from "../handler.js";
import { settle } from "../lib/core.js";
import { type InternalHookEvent, mapInternalEvent, resetInternalState } from "../lib/internal.js";
import { isolateSpool, type Receiver, startReceiver, types } from "./receiver.js";

const KEY = "agent:main:main";
const OLD = "b7c1e2d0-0a1b-4c2d-9e3f-5a6b7c8d9e0f";
const NEW = "0f9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c";

function hook(type: string, action: string, context: Record<string, unknown>, at = "2026-08-20T14:30:00.000Z"): InternalHookEvent {
  return { type, action, sessionKey: KEY, timestamp: new Date(at), messages: [], context };
}

const newCommand = hook("command", "new", {
  commandSource: "telegram",
  senderId: "123456789",
  workspaceDir: "/home/ada/.openclaw/workspace",
  previousSessionEntry: { sessionId: OLD },
  sessionEntry: { sessionId: NEW },
});
const received = (at: string, content: string) =>
  hook("message", "received", { from: "+15551234567", content, channelId: "telegram", metadata: { senderName: "Ada" } }, at);
const sent = (at: string, extra: Record<string, unknown>) =>
  hook("message", "sent", { to: "+15551234567", content: "You have 3 meetings today...", success: true, channelId: "telegram", ...extra }, at);

describe("internal hook mapping", () => {
  beforeEach(() => {
    resetInternalState();
    process.env.AGENTMON_VM_NAME = "zap";
  });

  it("command:new ends the previous session and starts the new one", () => {
    const events = mapInternalEvent(newCommand);
    assert.deepEqual(types(events), ["session.end", "session.start"]);
    assert.equal(events[0].correlation.session_id, OLD);
    assert.equal(events[1].correlation.session_id, NEW);
    assert.deepEqual(events[1].event.source, { framework: "openclaw", client_id: "zap", host: "zap" });
    assert.equal(events[1].event.ts, "2026-08-20T14:30:00.000Z");
    assert.equal(events[1].attributes.sessionKey, KEY);
  });

  it("a message turn is a run of the session the key maps to", () => {
    mapInternalEvent(newCommand);
    const start = mapInternalEvent(received("2026-08-20T14:30:00.000Z", "Summarize today's calendar"));
    const end = mapInternalEvent(sent("2026-08-20T14:30:09.412Z", {}));
    assert.deepEqual(types(start), ["run.start"]);
    assert.equal(start[0].payload.input, "Summarize today's calendar");
    assert.equal(start[0].correlation.session_id, NEW);
    assert.deepEqual(types(end), ["run.end"]);
    assert.equal(end[0].correlation.run_id, start[0].correlation.run_id);
    assert.equal(end[0].payload.status, "ok");
    assert.equal(end[0].payload.duration_ms, 9412);
  });

  it("a second message before the answer closes the first run as unknown", () => {
    const first = mapInternalEvent(received("2026-08-20T14:30:00.000Z", "one"));
    const second = mapInternalEvent(received("2026-08-20T14:30:05.000Z", "two"));
    assert.deepEqual(types(second), ["run.end", "run.start"]);
    assert.equal(second[0].correlation.run_id, first[0].correlation.run_id);
    assert.equal(second[0].payload.status, "unknown");
  });

  it("a failed send is an error and a failed run, even without a received message", () => {
    const events = mapInternalEvent(sent("2026-08-20T14:31:02.001Z", { success: false, error: "telegram: 429 Too Many Requests" }));
    assert.deepEqual(types(events), ["error", "run.start", "run.end"]);
    assert.equal(events[0].payload.message, "telegram: 429 Too Many Requests");
    assert.equal(events[2].payload.status, "error");
  });

  it("compaction before/after is one compaction span with its token figures", () => {
    const start = mapInternalEvent(hook("session", "compact:before", { messageCount: 184, tokenCount: 151200 }, "2026-08-20T14:45:00.000Z"));
    const end = mapInternalEvent(
      hook("session", "compact:after", { messageCount: 184, tokenCount: 151200, compactedCount: 160, summaryLength: 4210, tokensBefore: 151200, tokensAfter: 23800 }, "2026-08-20T14:45:10.000Z"),
    );
    assert.deepEqual(types([...start, ...end]), ["span.start", "span.end"]);
    assert.equal(start[0].correlation.span_id, end[0].correlation.span_id);
    assert.equal(end[0].payload.kind, "compaction");
    assert.equal(end[0].payload.duration_ms, 10000);
    assert.equal(end[0].payload.tokensAfter, 23800);
  });

  it("command:reset and command:stop end sessions", () => {
    mapInternalEvent(newCommand);
    mapInternalEvent(received("2026-08-20T14:30:00.000Z", "work"));
    const stop = mapInternalEvent(hook("command", "stop", { sessionId: NEW, commandSource: "telegram" }));
    assert.deepEqual(types(stop), ["run.end", "session.end"]);
    assert.equal(stop[0].payload.status, "cancelled");
    const reset = mapInternalEvent(hook("command", "reset", { previousSessionEntry: { sessionId: NEW }, sessionEntry: { sessionId: OLD } }));
    assert.deepEqual(types(reset), ["session.end", "session.start"]);
    assert.equal(reset[1].correlation.session_id, OLD);
  });

  it("events it does not map give nothing", () => {
    assert.deepEqual(mapInternalEvent(hook("gateway", "startup", {})), []);
  });
});

describe("internal hook handler", () => {
  let receiver: Receiver;
  before(async () => {
    isolateSpool();
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  it("posts the mapped events to the gateway", async () => {
    resetInternalState();
    process.env.AGENTMON_INGEST_URL = receiver.url;
    process.env.AGENTMON_API_KEY = "secret";
    await handler(newCommand);
    await settle();
    delete process.env.AGENTMON_API_KEY;
    assert.deepEqual(types(receiver.events()), ["session.end", "session.start"]);
    assert.deepEqual(receiver.requests.at(-1), { path: "/v1/events", authorization: "Bearer secret" });
  });

  it("returns and never throws when the gateway is down or the event is odd", async () => {
    process.env.AGENTMON_INGEST_URL = "http://127.0.0.1:9";
    await handler(newCommand);
    await handler({ type: "message", action: "received" } as InternalHookEvent);
    await handler(null as unknown as InternalHookEvent);
    await settle();
  });
});
