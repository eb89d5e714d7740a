import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";

import plugin, { followAgentEvents, isOneShotLocalRun, stopFollowingAgentEvents } from "../plugin.js";
import { derivedId, FRAMEWORK, settle, spanIdFor } from "../lib/core.js";
import { mapAgentEvent, mapPluginHook, resetPluginState, setOneShotLocal, settleAllNow, withoutStamp } from "../lib/plugin-mapping.js";
import { isolateSpool, type Receiver, startReceiver, types } from "./receiver.js";

const SESSION = "0f9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c";
const RUN = "3f2b9c1e-7a44-4c1d-9b0e-2d5f6a7b8c9d";
const ctx = { agentId: "main", sessionKey: "agent:main:main", sessionId: SESSION, runId: RUN };

const execCall = { toolName: "exec", params: { command: "ls -la" }, runId: RUN, toolCallId: "call_01HZX8Q2" };
const execDone = { ...execCall, result: { content: [{ type: "text", text: "total 8\n..." }] }, durationMs: 142 };

describe("plugin hook mapping", () => {
  beforeEach(() => resetPluginState());

  it("pairs before/after_tool_call on one span derived from session and toolCallId", () => {
    const start = mapPluginHook("before_tool_call", execCall, { ...ctx, toolName: "exec", toolCallId: "call_01HZX8Q2" });
    const end = mapPluginHook("after_tool_call", execDone, { ...ctx, toolName: "exec", toolCallId: "call_01HZX8Q2" });
    assert.deepEqual(types(start), ["session.start", "run.start", "span.start"]);
    assert.deepEqual(types(end), ["span.end"]);
    assert.equal(start[2].correlation.span_id, end[0].correlation.span_id);
    assert.equal(end[0].correlation.run_id, RUN);
    assert.equal(end[0].payload.status, "ok");
    assert.equal(end[0].payload.duration_ms, 142);
    assert.equal(end[0].payload.toolCallId, "call_01HZX8Q2");
    assert.equal(end[0].payload.reconstructed, undefined);
    const elsewhere = mapPluginHook("before_tool_call", execCall, { ...ctx, sessionId: "another" });
    assert.notEqual(elsewhere.at(-1)?.correlation.span_id, start[2].correlation.span_id);
  });

  it("a failed tool call is an error span and an error event; alone it is reconstructed", () => {
    const events = mapPluginHook(
      "after_tool_call",
      { toolName: "web_fetch", params: { url: "https://example.invalid" }, runId: RUN, toolCallId: "call_01HZX8Q3", error: "getaddrinfo ENOTFOUND example.invalid", durationMs: 31 },
      ctx,
    );
    assert.deepEqual(types(events), ["session.start", "run.start", "span.end", "error"]);
    assert.equal(events[2].payload.status, "error");
    assert.equal(events[2].payload.reconstructed, true);
    assert.equal(events[3].payload.message, "getaddrinfo ENOTFOUND example.invalid");
    assert.equal(events[3].correlation.span_id, events[2].correlation.span_id);
  });

  it("tool_result_persist ends a span only when after_tool_call did not", () => {
    mapPluginHook("after_tool_call", execDone, ctx);
    const persist = { toolName: "exec", toolCallId: "call_01HZX8Q2", message: { role: "toolResult", content: [], isError: false } };
    assert.deepEqual(mapPluginHook("tool_result_persist", persist, ctx), []);
    const other = mapPluginHook("tool_result_persist", { ...persist, toolCallId: "call_X", message: { isError: true } }, ctx);
    assert.deepEqual(types(other), ["span.end", "error"]);
  });

  it("llm_output usage becomes one metric.snapshot", () => {
    const events = mapPluginHook(
      "llm_output",
      { runId: RUN, sessionId: SESSION, provider: "anthropic", model: "claude-sonnet-4-6", assistantTexts: ["..."], usage: { input: 1820, output: 212, cacheRead: 12000, cacheWrite: 0, total: 14032 } },
      ctx,
    );
    const snapshot = events.at(-1)!;
    assert.equal(snapshot.event.type, "metric.snapshot");
    assert.deepEqual(snapshot.payload.usage, { input_tokens: 1820, output_tokens: 212, cache_read_tokens: 12000, cache_write_tokens: 0, total_tokens: 14032 });
    assert.equal(snapshot.payload.model, "claude-sonnet-4-6");
    assert.deepEqual(mapPluginHook("llm_output", { runId: RUN, model: "m" }, ctx), []);
  });

  it("llm_input starts the run and agent_end ends it", () => {
    const start = mapPluginHook("llm_input", { runId: RUN, sessionId: SESSION, provider: "anthropic", model: "claude-sonnet-4-6", prompt: "Summarize", historyMessages: [], imagesCount: 0 }, ctx);
    const again = mapPluginHook("llm_input", { runId: RUN, prompt: "again" }, ctx);
    const end = mapPluginHook("agent_end", { runId: RUN, messages: [], success: false, error: "boom", durationMs: 9412 }, ctx);
    assert.deepEqual(types(start), ["session.start", "run.start"]);
    assert.equal(start[1].payload.input, "Summarize");
    assert.deepEqual(again, []);
    assert.deepEqual(types(end), ["error"]);
    const settled = settleAllNow(); // no llm_output followed: the timer ends the run
    assert.deepEqual(types(settled), ["run.end"]);
    assert.equal(settled[0].payload.status, "error");
    assert.equal(settled[0].payload.error, "boom");
    assert.equal(settled[0].payload.duration_ms, 9412);
  });

  it("model calls are llm spans; a failed one carries its failure kind", () => {
    const call = { runId: RUN, callId: "c1", sessionId: SESSION, provider: "anthropic", model: "claude-sonnet-4-6" };
    mapPluginHook("model_call_started", call, ctx);
    const waiting = mapPluginHook("model_call_ended", { ...call, durationMs: 800, outcome: "error", errorCategory: "network", failureKind: "timeout" }, ctx);
    assert.deepEqual(waiting, []); // the real error text may follow in llm_output
    const end = settleAllNow();
    assert.deepEqual(types(end), ["span.end", "error"]);
    assert.equal(end[0].payload.kind, "llm");
    assert.equal(end[0].payload.error, "network: timeout");
  });

  it("session_start and session_end", () => {
    const start = mapPluginHook("session_start", { sessionId: SESSION, sessionKey: "agent:main:main" }, { sessionId: SESSION });
    const end = mapPluginHook("session_end", { sessionId: SESSION, messageCount: 42, durationMs: 3600000, reason: "new" }, { sessionId: SESSION });
    assert.deepEqual(types([...start, ...end]), ["session.start", "session.end"]);
    assert.equal(end[0].payload.reason, "new");
    assert.equal(end[0].payload.duration_ms, 3600000);
  });
});

describe("plugin registration", () => {
  let receiver: Receiver;
  before(async () => {
    isolateSpool();
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  it("registers every hook with synchronous handlers that post and never throw", async () => {
    resetPluginState();
    process.env.AGENTMON_INGEST_URL = receiver.url;
    const handlers = new Map<string, (event: Record<string, unknown>, ctx: Record<string, unknown>) => unknown>();
    plugin.register({ on: (name, fn) => handlers.set(name, fn) });
    assert.ok(["after_tool_call", "llm_output", "agent_end", "tool_result_persist", "session_start"].every((name) => handlers.has(name)));
    assert.equal(handlers.get("after_tool_call")!(execDone, ctx), undefined);
    assert.equal(handlers.get("tool_result_persist")!(undefined as unknown as Record<string, unknown>, ctx), undefined);
    await settle();
    assert.deepEqual(types(receiver.events()), ["session.start", "run.start", "span.end"]);
  });
});

describe("following OpenClaw's agent events", () => {
  it("subscribes once per process, and the latest registration maps", () => {
    const listeners: Array<(event: Record<string, unknown>) => void> = [];
    const api = { on: () => undefined, runtime: { events: { onAgentEvent: (fn: (event: Record<string, unknown>) => void) => listeners.push(fn) } } };
    const seen: string[] = [];
    assert.ok(followAgentEvents(api, () => seen.push("first")));
    assert.ok(followAgentEvents(api, () => seen.push("second")));
    assert.equal(listeners.length, 1);
    listeners[0]({ stream: "lifecycle" });
    assert.deepEqual(seen, ["second"]);
  });

  it("a runtime without agent events, or one that throws, is no subscription", () => {
    stopFollowingAgentEvents();
    assert.equal(followAgentEvents({ on: () => undefined }, () => undefined), false);
    const metadataOnly = { on: () => undefined, get runtime(): never { throw new Error("unavailable in cli-metadata mode"); } };
    assert.equal(followAgentEvents(metadataOnly, () => undefined), false);
  });
});

describe("OpenClaw 2026.9.6 --local turns, as the real CLI sends them", () => {
  beforeEach(() => resetPluginState());
  const sessionKey = "agent:main:k1";
  const local = { agentId: "main", sessionKey, sessionId: SESSION, runId: RUN };
  const model = { provider: "fake", model: "fake-model" };
  const usage = { input: 111, output: 22, cacheRead: 0, cacheWrite: 0, totalTokens: 133 };

  it("a turn with a tool call: one session start, the run's clean title, its reply, its usage", () => {
    const events = [
      ...mapPluginHook("llm_input", { runId: RUN, sessionId: SESSION, ...model, prompt: "[Sat 2026-12-05 01:58 UTC] run echo hello" }, local),
      ...mapPluginHook("model_call_started", { runId: RUN, callId: `${RUN}:model:1`, sessionKey, sessionId: SESSION, ...model }, local),
      ...mapPluginHook("model_call_ended", { runId: RUN, callId: `${RUN}:model:1`, ...model, durationMs: 380, outcome: "completed" }, local),
      ...mapPluginHook("before_tool_call", { toolName: "exec", params: { command: "echo hello" }, runId: RUN, toolCallId: "call_abc123" }, local),
      ...mapPluginHook("after_tool_call", { toolName: "exec", params: { command: "echo hello" }, runId: RUN, toolCallId: "call_abc123", result: { content: [{ type: "text", text: "hello" }], details: { exitCode: 0, aggregated: "hello" } }, durationMs: 2549 }, local),
      // tool_result_persist carries the session key only
      ...mapPluginHook("tool_result_persist", { toolName: "exec", toolCallId: "call_abc123", message: { role: "toolResult", isError: false } }, { agentId: "main", sessionKey, toolName: "exec", toolCallId: "call_abc123" }),
      ...mapPluginHook("agent_end", { runId: RUN, success: true, durationMs: 3657, messages: [{ role: "assistant", content: [{ type: "text", text: "The command printed hello." }] }] }, local),
      ...mapPluginHook("llm_output", { runId: RUN, sessionId: SESSION, ...model, assistantTexts: ["The command printed hello."], lastAssistant: { role: "assistant", usage, stopReason: "stop" } }, local),
    ];
    assert.deepEqual(types(events), ["session.start", "run.start", "span.start", "span.end", "span.start", "span.end", "metric.snapshot", "run.end"]);
    assert.equal(events[0].payload.model, "fake-model");
    assert.equal(events[0].payload.synthetic, true);
    assert.equal(events[1].payload.input, "run echo hello");
    assert.equal(events[1].payload.raw_input, "[Sat 2026-12-05 01:58 UTC] run echo hello");
    assert.deepEqual(events[6].payload.usage, { input_tokens: 111, output_tokens: 22, cache_read_tokens: 0, cache_write_tokens: 0, total_tokens: 133 });
    assert.equal(events[7].payload.status, "ok");
    assert.equal(events[7].payload.output, "The command printed hello.");
    assert.deepEqual(settleAllNow(), []);
    // a later process of the same session sends the same session.start id: the store keeps one
    resetPluginState();
    const again = mapPluginHook("llm_input", { runId: "run-2", sessionId: SESSION, ...model, prompt: "next" }, { ...local, runId: "run-2" });
    assert.equal(again[0].event.id, events[0].event.id);
  });

  it("usage counts per reply from agent_end's messages (as the transcript has them), not per attempt", () => {
    const reply = (id: string, at: number) => ({ role: "assistant", content: [], usage: { ...usage, cost: { total: 0 } }, responseId: id, timestamp: at });
    const earlier = { ...reply("chatcmpl-0", 1), __openclaw: { runId: "run-0" } };
    const events = [
      ...mapPluginHook("llm_input", { runId: RUN, sessionId: SESSION, ...model, prompt: "[Sat 2026-12-05 01:58 UTC] run echo hello" }, local),
      ...mapPluginHook("agent_end", { runId: RUN, success: true, durationMs: 10, messages: [{ role: "user", content: "hi" }, earlier, { role: "user", content: "run echo hello" }, reply("chatcmpl-1", 2), { role: "toolResult" }, reply("chatcmpl-2", 3)] }, local),
      // the attempt's sum of both calls: not counted again
      ...mapPluginHook("llm_output", { runId: RUN, sessionId: SESSION, ...model, assistantTexts: ["ok"], usage: { input: 222, output: 44, total: 266 }, lastAssistant: reply("chatcmpl-2", 3) }, local),
    ];
    const snapshots = events.filter((e) => e.event.type === "metric.snapshot");
    assert.deepEqual(snapshots.map((e) => e.payload.usage), [1, 2].map(() => ({ input_tokens: 111, output_tokens: 22, cache_read_tokens: 0, cache_write_tokens: 0, total_tokens: 133 })));
    assert.deepEqual(snapshots.map((e) => e.event.id), ["chatcmpl-1", "chatcmpl-2"].map((id) => derivedId(FRAMEWORK, SESSION, "event", "usage", id)));
    assert.ok(snapshots.every((e) => e.correlation.run_id === RUN && e.payload.cost_usd === undefined)); // a total of 0 is no price
    // the same replies again (the next attempt, or the transcript's import): the same ids
    const again = mapPluginHook("agent_end", { runId: RUN, success: true, messages: [reply("chatcmpl-1", 2)] }, local);
    assert.equal(again.find((e) => e.event.type === "metric.snapshot")?.event.id, snapshots[0].event.id);
  });

  it("a failed tool's error has the id the importer derives from its span", () => {
    const events = mapPluginHook("after_tool_call", { toolName: "exec", runId: RUN, toolCallId: "call_9", error: "denied" }, local);
    const error = events.find((e) => e.event.type === "error")!;
    assert.equal(error.event.id, derivedId(FRAMEWORK, SESSION, "event", spanIdFor(SESSION, "tool:call_9"), "error"));
  });

  it("a failed turn: eight attempts, one failed run, eight failed calls with the real error", () => {
    const callId = `${RUN}:model:1`;
    const failed = [];
    for (let attempt = 0; attempt < 8; attempt += 1) {
      failed.push(
        ...mapPluginHook("llm_input", { runId: RUN, sessionId: SESSION, ...model, prompt: "[Sat 2026-12-05 01:58 UTC] run echo hello" }, local),
        ...mapPluginHook("model_call_started", { runId: RUN, callId, sessionKey, sessionId: SESSION, ...model }, local),
        ...mapPluginHook("model_call_ended", { runId: RUN, callId, ...model, durationMs: 60, outcome: "error", errorCategory: "Error" }, local),
        ...mapPluginHook("agent_end", { runId: RUN, success: true, durationMs: 160, messages: [{ role: "user", content: "run echo hello" }, { role: "assistant", content: [] }] }, local),
        ...mapPluginHook("llm_output", { runId: RUN, sessionId: SESSION, ...model, assistantTexts: [], lastAssistant: { role: "assistant", content: [], usage: { ...usage, input: 0, output: 0, totalTokens: 0 }, stopReason: "error", errorMessage: "Connection error.", errorCode: "ECONNREFUSED" } }, local),
      );
    }
    assert.equal(types(failed).filter((t) => t === "run.start").length, 1);
    assert.equal(types(failed).filter((t) => t === "metric.snapshot").length, 0);
    const ends = failed.filter((e) => e.event.type === "run.end");
    assert.ok(ends.every((e) => e.payload.status === "error" && e.payload.error === "Connection error. (ECONNREFUSED)"));
    assert.ok(ends.every((e) => e.correlation.run_id === RUN));
    const llmEnds = failed.filter((e) => e.event.type === "span.end" && e.payload.kind === "llm");
    assert.equal(new Set(llmEnds.map((e) => e.correlation.span_id)).size, 8);
    assert.ok(llmEnds.every((e) => e.payload.error === "Connection error. (ECONNREFUSED)"));
    const errors = failed.filter((e) => e.event.type === "error");
    assert.equal(errors.length, 8);
    assert.deepEqual(new Set(errors.map((e) => e.correlation.span_id)), new Set(llmEnds.map((e) => e.correlation.span_id)));
  });

  it("a one-shot --local turn ends its synthesised session with the run; a gateway's does not", () => {
    const turn = () => [
      ...mapPluginHook("llm_input", { runId: RUN, sessionId: SESSION, ...model, prompt: "hi" }, local),
      ...mapPluginHook("agent_end", { runId: RUN, success: true, durationMs: 10, messages: [] }, local),
      ...mapPluginHook("llm_output", { runId: RUN, sessionId: SESSION, ...model, assistantTexts: ["ok"], lastAssistant: { usage, stopReason: "stop" } }, local),
    ];
    setOneShotLocal(true);
    const events = turn();
    assert.deepEqual(types(events), ["session.start", "run.start", "metric.snapshot", "run.end", "session.end"]);
    assert.equal(events[4].payload.reason, "local_turn_end");
    assert.equal(events[4].correlation.session_id, SESSION);
    resetPluginState();
    mapPluginHook("session_start", { sessionId: SESSION }, local); // OpenClaw's own start: its own end
    assert.ok(!types(turn()).includes("session.end"));
    resetPluginState(); // not one-shot any more
    assert.ok(!types(turn()).includes("session.end"));
    assert.ok(isOneShotLocalRun(["node", "openclaw", "agent", "--local", "--message", "hi"]));
    assert.ok(!isOneShotLocalRun(["node", "openclaw", "gateway"]));
  });

  it("a command that exits non-zero is a failed tool call", () => {
    const events = mapPluginHook("after_tool_call", { toolName: "exec", runId: RUN, toolCallId: "call_2", result: { content: [], details: { exitCode: 2, aggregated: "ls: cannot access 'nope'" } }, durationMs: 40 }, local);
    const end = events.find((e) => e.event.type === "span.end")!;
    assert.equal(end.payload.status, "error");
    assert.equal(end.payload.error, "exit code 2: ls: cannot access 'nope'");
  });

  // as OpenClaw 2026.9.6 reports them (tests/real_agents/openclaw/test_openclaw_matrix.py)
  const denied = (details: Record<string, unknown>) =>
    mapPluginHook("after_tool_call", { toolName: "exec", runId: RUN, toolCallId: "call_3", params: { command: "echo hello" }, result: { content: [{ type: "text", text: JSON.stringify(details) }], details }, durationMs: 71 }, local);

  it("exec refused by the exec policy is a denied tool call with a permission_denied error", () => {
    const events = denied({ status: "error", tool: "exec", error: "exec denied: host=gateway security=deny" });
    const end = events.find((e) => e.event.type === "span.end")!;
    const error = events.find((e) => e.event.type === "error")!;
    assert.deepEqual([end.payload.status, end.payload.error], ["denied", "exec denied: host=gateway security=deny"]);
    assert.deepEqual([error.payload.kind, error.correlation.span_id], ["permission_denied", end.correlation.span_id]);
  });

  it("a plugin's before_tool_call block is a denied tool call, its reason the error", () => {
    const events = denied({ status: "blocked", deniedReason: "plugin-before-tool-call", reason: "Owner required for exec." });
    const end = events.find((e) => e.event.type === "span.end")!;
    assert.deepEqual([end.payload.status, end.payload.error], ["denied", "Owner required for exec."]);
    assert.equal(events.find((e) => e.event.type === "error")!.payload.kind, "permission_denied");
  });

  it("an exec error that is no refusal stays an error (an approval that could not be asked)", () => {
    const events = mapPluginHook("after_tool_call", { toolName: "exec", runId: RUN, toolCallId: "call_4", error: "Exec approval registration failed: Gateway not reachable", result: { details: { status: "error", tool: "exec", error: "Exec approval registration failed: Gateway not reachable" } } }, local);
    assert.equal(events.find((e) => e.event.type === "span.end")!.payload.status, "error");
    assert.equal(events.find((e) => e.event.type === "error")!.payload.kind, "tool");
  });

  it("a refusal reaching only tool_result_persist is denied too", () => {
    const message = { role: "toolResult", isError: true, details: { status: "blocked", deniedReason: "plugin-approval", reason: "Denied by the user" } };
    const events = mapPluginHook("tool_result_persist", { toolName: "exec", toolCallId: "call_5", message }, local);
    const end = events.find((e) => e.event.type === "span.end")!;
    assert.deepEqual([end.payload.status, end.payload.error], ["denied", "Denied by the user"]);
  });

  it("a compaction's summary call is a span of the session, opening no run", () => {
    // as `openclaw sessions compact` through the gateway sends it (test_openclaw_gateway.py)
    const compactRun = "ceca26f7-1d33-4842-a43c-75ef0e38aa05";
    const call = { runId: compactRun, callId: `${compactRun}:compaction:cmp-mxa6yrmy-AFZ7EA:model:1`, provider: "fake", model: "fake-model" };
    const gateway = { agentId: "main", sessionKey, sessionId: SESSION, runId: compactRun };
    const events = [...mapPluginHook("model_call_started", call, gateway), ...mapPluginHook("model_call_ended", { ...call, outcome: "completed", durationMs: 15 }, gateway)];
    assert.deepEqual(types(events).filter((type) => type !== "session.start"), ["span.start", "span.end"]);
    assert.ok(events.every((e) => e.correlation.run_id === undefined));
    // and the next hook without a runId is not taken for the compaction's
    assert.equal(mapPluginHook("tool_result_persist", { toolName: "exec", toolCallId: "call_9", message: {} }, { sessionKey }).at(-1)?.correlation.run_id, undefined);
  });

  it("a sub-agent is an agent span under its sessions_spawn call, and its own session, ended with it", () => {
    // as `openclaw agent` through the gateway sends them (test_openclaw_gateway.py)
    const childRun = "06ae5f9b-e642-4e64-9243-3103a8f5c144";
    const childKey = "agent:main:subagent:ab1de478-0f21-4bf5-b902-19df2e77aa9a";
    const childSession = "2d4938af-4015-439b-95b2-e5d99958280b";
    const parent = { agentId: "main", sessionKey, sessionId: SESSION, runId: RUN, toolCallId: "call_agentmon_1" };
    const spawn = { toolName: "sessions_spawn", params: { task: "answer with one word", label: "helper" }, runId: RUN, toolCallId: "call_agentmon_1" };
    const details = { status: "accepted", childSessionKey: childKey, runId: childRun, mode: "run" };
    const subagentCtx = { runId: childRun, childSessionKey: childKey, requesterSessionKey: sessionKey };
    const child = { agentId: "main", sessionKey: childKey, sessionId: childSession, runId: childRun };
    const events = [
      ...mapPluginHook("llm_input", { runId: RUN, sessionId: SESSION, ...model, prompt: "SPAWN" }, parent),
      ...mapPluginHook("before_tool_call", spawn, parent),
      ...mapPluginHook("subagent_spawned", { runId: childRun, childSessionKey: childKey, agentId: "main", label: "helper", mode: "run", resolvedModel: "fake/fake-model" }, subagentCtx),
      ...mapPluginHook("after_tool_call", { ...spawn, result: { content: [], details }, durationMs: 284 }, parent),
      ...mapPluginHook("llm_input", { runId: childRun, sessionId: childSession, ...model, prompt: "[Subagent Context] …" }, child),
      ...mapPluginHook("agent_end", { runId: childRun, success: true, messages: [{ role: "assistant", content: [{ type: "text", text: "The child says hello." }], usage, responseId: "chatcmpl-3" }] }, child),
      ...mapPluginHook("subagent_ended", { targetSessionKey: childKey, targetKind: "subagent", reason: "subagent-complete", runId: childRun, endedAt: 1796467667838, outcome: "ok" }, subagentCtx),
    ];
    const toolSpan = spanIdFor(SESSION, "tool:call_agentmon_1");
    const agentStart = events.find((e) => e.event.type === "span.start" && e.payload.kind === "agent")!;
    assert.deepEqual([agentStart.correlation.session_id, agentStart.correlation.run_id, agentStart.correlation.parent_span_id], [SESSION, RUN, toolSpan]);
    assert.deepEqual([agentStart.payload.name, agentStart.payload.input, agentStart.payload.child_session_key], ["helper", "answer with one word", childKey]);
    const childStart = events.find((e) => e.event.type === "session.start" && e.correlation.session_id === childSession)!;
    assert.equal(childStart.payload.parent_session_id, SESSION);
    // the child's usage is its own session's, once
    const usages = events.filter((e) => e.event.type === "metric.snapshot");
    assert.deepEqual(usages.map((e) => e.correlation.session_id), [childSession]);
    const agentEnd = events.find((e) => e.event.type === "span.end" && e.payload.kind === "agent")!;
    assert.deepEqual([agentEnd.correlation.span_id, agentEnd.correlation.run_id, agentEnd.correlation.session_id], [agentStart.correlation.span_id, RUN, SESSION]);
    assert.deepEqual([agentEnd.payload.status, agentEnd.payload.output, agentEnd.payload.child_session_id], ["ok", "The child says hello.", childSession]);
    assert.equal(agentEnd.event.ts, new Date(1796467667838).toISOString());
    const childEnd = events.filter((e) => e.event.type === "session.end");
    assert.deepEqual(childEnd.map((e) => [e.correlation.session_id, e.payload.reason]), [[childSession, "subagent-complete"]]);
    // `/new` on the parent fires subagent_ended for it too (targetKind "acp"): not the plugin's to end
    const reset = mapPluginHook("subagent_ended", { targetSessionKey: sessionKey, targetKind: "acp", reason: "session-reset", sendFarewell: true, outcome: "reset" }, { childSessionKey: sessionKey });
    assert.deepEqual(reset, []);
  });

  it("a sub-agent that failed ends its span error in the parent's run; a killed one cancelled", () => {
    const ended = (runId: string, outcome: string, error?: string) => {
      const details = { status: "accepted", childSessionKey: `agent:main:subagent:${runId}`, runId };
      mapPluginHook("after_tool_call", { toolName: "sessions_spawn", params: { task: "t" }, runId: RUN, toolCallId: `call_${runId}`, result: { details } }, local);
      const ctx = { runId, childSessionKey: details.childSessionKey, requesterSessionKey: sessionKey };
      return mapPluginHook("subagent_ended", { targetSessionKey: details.childSessionKey, reason: "subagent-error", runId, outcome, error }, ctx);
    };
    const failed = ended("c1", "timeout", "run timed out");
    const end = failed.find((e) => e.event.type === "span.end")!;
    assert.deepEqual([end.payload.status, end.payload.error, end.correlation.run_id], ["error", "run timed out", RUN]);
    assert.equal(failed.find((e) => e.event.type === "error")?.correlation.span_id, end.correlation.span_id);
    const killed = ended("c2", "killed");
    assert.deepEqual(types(killed), ["span.end"]); // the child never ran here: no session of its own to end
    assert.equal(killed[0].payload.status, "cancelled");
  });

  it("an ask_user call is waiting for the human, with its question, until the tool ends", () => {
    const params = { questions: [{ id: "color", header: "Color", question: "Which color do you want?", options: [{ label: "red" }, { label: "blue" }] }], timeoutSeconds: 30 };
    const asked = mapPluginHook("before_tool_call", { toolName: "ask_user", params, runId: RUN, toolCallId: "call_ask" }, local);
    assert.deepEqual(types(asked), ["session.start", "run.start", "span.start", "metric.snapshot"]);
    assert.deepEqual(asked[3].payload, { agent_state: "waiting_for_human", waiting_reason: "question", message: "Which color do you want?" });
    assert.equal(asked[3].correlation.run_id, RUN);
    const other = mapPluginHook("before_tool_call", { toolName: "exec", params: { command: "ls" }, runId: RUN, toolCallId: "call_ls" }, local);
    assert.deepEqual(types(other), ["span.start"]);
  });

  // the exec tool's agent events around a human's approval, as the gateway emits them
  // (tests/real_agents/openclaw/test_openclaw_approval.py)
  const approval = (phase: string) => ({ runId: RUN, stream: "lifecycle", sessionKey, sessionId: SESSION, seq: 4, ts: 1, data: { phase, approvalId: "d40d5814", toolCallId: "call_ok" } });

  it("an exec waiting for a human's approval is a waiting session, with the command", () => {
    mapPluginHook("before_tool_call", { toolName: "exec", params: { command: "echo hello" }, runId: RUN, toolCallId: "call_ok" }, local);
    const waiting = mapAgentEvent(approval("waiting-approval"));
    assert.deepEqual(types(waiting), ["metric.snapshot"]);
    assert.deepEqual(waiting[0].payload, { agent_state: "waiting_for_human", waiting_reason: "permission_prompt", message: "Allow exec: echo hello ?", approvalId: "d40d5814", toolCallId: "call_ok" });
    assert.deepEqual([waiting[0].correlation.session_id, waiting[0].correlation.run_id], [SESSION, RUN]);
    const resolved = mapAgentEvent(approval("approval-resolved"));
    assert.deepEqual(types(resolved), ["metric.snapshot"]);
    assert.equal(resolved[0].payload.agent_state, "working");
    assert.deepEqual(mapAgentEvent({ ...approval("start"), data: { phase: "start" } }), []);
    assert.deepEqual(mapAgentEvent({ ...approval("waiting-approval"), stream: "tool" }), []);
  });

  it("an exec a human denied is a denied tool call", () => {
    const text = "Exec denied (gateway id=d40d5814, user-denied): echo hello";
    const details = { status: "failed", exitCode: null, durationMs: 0, aggregated: text, timedOut: false, cwd: "/w" };
    const events = mapPluginHook("after_tool_call", { toolName: "exec", runId: RUN, toolCallId: "call_no", params: { command: "echo hello" }, result: { content: [{ type: "text", text }], details } }, local);
    const end = events.find((e) => e.event.type === "span.end")!;
    assert.deepEqual([end.payload.status, end.payload.error], ["denied", text]);
    assert.equal(events.find((e) => e.event.type === "error")!.payload.kind, "permission_denied");
  });

  it("the prompt stamp goes, whatever the zone; other brackets stay", () => {
    assert.equal(withoutStamp("[Wed 2026-12-02 00:39 UTC] hello"), "hello");
    assert.equal(withoutStamp("[Wed 2026-12-02 00:39 GMT+2] hello"), "hello");
    assert.equal(withoutStamp("[draft] hello"), "[draft] hello");
  });
});
