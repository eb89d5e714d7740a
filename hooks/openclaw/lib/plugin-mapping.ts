// OpenClaw typed plugin hooks → agentmon envelopes.
//
//   first hook of a session                  → session.start (synthetic in `--local` mode, where
//                                              OpenClaw fires no session_start; one per session:
//                                              its event id is derived from the session id)
//   session_start / session_end              → session.start / session.end
//   run.end of a one-shot `agent --local`    → session.end (reason "local_turn_end") of a session
//                                              synthesised here: that mode fires no session_end
//                                              and the process exits after the turn; a later turn
//                                              of the key continues the session and ends it later
//   before_reset                             → session.end (reason "reset"): `/new`, `/reset`
//   llm_input (first for a runId)            → run.start (input without OpenClaw's
//                                              "[Wed 2026-12-02 00:39 UTC] " stamp; raw kept)
//   agent_end + llm_output                   → run.end (output = the reply; error when the
//                                              turn's model call failed, with its real text)
//   before_tool_call / after_tool_call       → span.start / span.end kind=tool (id from toolCallId);
//                                              a call OpenClaw refused (exec policy "exec denied: …",
//                                              a human's "Exec denied (…, user-denied)", a plugin's
//                                              block) ends `denied` with an error of kind
//                                              permission_denied; a non-zero exit ends `error`
//   before_tool_call of ask_user             → also metric.snapshot waiting_for_human (reason
//                                              "question", message = its questions): the turn
//                                              waits for the human's answer until the tool ends
//   agent event lifecycle "waiting-approval" → metric.snapshot waiting_for_human (reason
//     (api.runtime.events.onAgentEvent: the     "permission_prompt", message "Allow exec: <command>
//     exec tool asks a human on the gateway)    ?", the command from the call's before_tool_call)
//   agent event lifecycle "approval-resolved"→ metric.snapshot agent_state "working": the wait
//                                              is over (approved: the command runs on; denied or
//                                              expired: after_tool_call ends the span `denied`)
//   tool_result_persist                      → span.end, only when after_tool_call did not end it
//   model_call_started / model_call_ended    → span.start / span.end kind=llm (id from callId and
//                                              the attempt: a retried turn reuses its callId); a
//                                              compaction's summary call is the session's, in no run
//   agent_end.messages                       → metric.snapshot per reply of the run (the one place
//                                              usage is counted), its id derived from the reply's
//                                              responseId, as `agentmon import openclaw` derives it
//   llm_output.usage                         → metric.snapshot of the attempt, only when agent_end
//                                              brought no messages (no conversation access)
//   sessions_spawn's after_tool_call          → span.start kind=agent in the spawning run, child of
//     (accepted: childSessionKey, runId)         the sessions_spawn tool span (id from the child's
//                                              runId); subagent_spawned (before it) gives its label,
//                                              model and start time; the child is its own session
//                                              (OpenClaw's), started with parent_session_id
//   subagent_ended                           → span.end of that agent span (outcome → status, the
//                                              child's reply as output, child_session_id) and, for
//                                              targetKind "subagent", session.end of the child's
//                                              session (OpenClaw fires no session_end for it; it
//                                              fires subagent_ended for every reset session too);
//                                              the child's usage is counted in its own session only
//
// Ids shared with `agentmon import openclaw` (integrations/openclaw_history.py), so a session
// recorded here and imported later (or the other way round) stores everything once: the run
// is OpenClaw's runId (the transcript stamps it on the run's messages), a model call's span
// its callId `<runId>:model:<n>` (the n-th reply of the run), a tool's span its toolCallId,
// a tool's error that span, a reply's usage its responseId (else its time stamp).
//
// What OpenClaw 2026.9.6 really sends (tests/real_agents/openclaw): a turn whose model is
// unreachable is retried (8 attempts): each attempt fires agent_end {success: true} and then
// llm_output whose lastAssistant has stopReason "error" and the real errorMessage; the
// failed model_call_ended says only errorCategory "Error". So a failed call's span and the
// attempt's run.end wait for the llm_output that follows (or a short timer), and each
// attempt's run.end updates the one run (the last attempt's status wins).
// tool_result_persist carries only sessionKey: the session and run come from the key.
//
// A hook for a run never started opens it first (run.start, synthetic), so events are never
// orphaned. Span ids are derived from the session id and the tool's own id.

import {
  BoundedMap,
  clip,
  type Config,
  derivedId,
  type Envelope,
  envelope,
  FRAMEWORK,
  type Payload,
  readConfig,
  send,
  sessionIdOf,
  spanIdFor,
} from "./core.js";

export type HookContext = Payload;

/** How long a finished attempt waits for the llm_output that carries its reply and error. */
export const SETTLE_MS = 1000;

interface PendingAttempt {
  config: Config;
  sessionId: string;
  sessionKey?: string;
  agentId?: string;
  failedCall?: { key: string; payload: Payload; category: string };
  end?: Payload;
  timer?: ReturnType<typeof setTimeout>;
}

const startedSessions = new BoundedMap<boolean>();
// sessions this process started from their first hook (no session_start) and nothing ended
const synthesisedSessions = new BoundedMap<boolean>();
let oneShotLocal = false;

/** Whether this process is a one-shot `openclaw agent --local` turn (see the header). */
export function setOneShotLocal(on: boolean): void {
  oneShotLocal = on;
}
const startedRuns = new BoundedMap<boolean>();
const endedToolSpans = new BoundedMap<boolean>();
const startedSpans = new BoundedMap<boolean>();
const callAttempts = new BoundedMap<number>();
// runs whose usage agent_end reported per reply (llm_output then counts none)
const usagePerReply = new BoundedMap<boolean>();
const currentRuns = new BoundedMap<string>();
const pendingAttempts = new Map<string, PendingAttempt>();

/** A sub-agent a sessions_spawn call started, by the child's runId (see the header). */
interface SpawnedChild {
  parentSessionKey?: string;
  parentRunId?: string;
  spanKey: string;
}
// subagent_spawned's facts (label, model, time) by the child's runId, until the spawning
// tool call's end opens the agent span
const spawnFacts = new BoundedMap<Payload>();
const spawnedChildren = new BoundedMap<SpawnedChild>();
// a child session's key → its parent's agentmon session id (for the child's session.start)
const childParents = new BoundedMap<string>();
// each run's reply (agent_end's), for the agent span of a child run
const runOutputs = new BoundedMap<unknown>();
// each exec call's command by its toolCallId, for the approval its call may wait for
const execCommands = new BoundedMap<string>();

/** Forget in-memory state (tests). */
export function resetPluginState(): void {
  oneShotLocal = false;
  for (const attempt of pendingAttempts.values()) clearTimeout(attempt.timer);
  for (const map of [startedSessions, synthesisedSessions, startedRuns, endedToolSpans, startedSpans, callAttempts, usagePerReply, currentRuns, pendingAttempts, spawnFacts, spawnedChildren, childParents, runOutputs, execCommands]) map.clear();
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value ? value : typeof value === "number" ? String(value) : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

// "[Wed 2026-12-02 00:39 UTC] " (OpenClaw's time stamp in front of every prompt)
const PROMPT_STAMP = /^\[[A-Z][a-z]{2} \d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?(?: [A-Za-z0-9+:-]+)?\] /;

/** The prompt without OpenClaw's leading time stamp. */
export function withoutStamp(prompt: string): string {
  return prompt.replace(PROMPT_STAMP, "");
}

/** The text of the last assistant message of a turn's messages. */
function replyOf(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  const last = [...messages].reverse().find((message) => (message as Payload)?.role === "assistant") as Payload | undefined;
  const content = last?.content;
  if (typeof content === "string") return content || undefined;
  if (!Array.isArray(content)) return undefined;
  const texts = content.filter((part) => (part as Payload)?.type === "text").map((part) => String((part as Payload).text ?? ""));
  return texts.join("") || undefined;
}

interface EmitIds {
  runId?: string;
  spanId?: string;
  parentSpanId?: string;
  eventId?: string;
  at?: number;
}

class PluginMapper {
  readonly events: Envelope[] = [];
  readonly sessionId: string | undefined;
  readonly sessionKey: string | undefined;
  readonly runId: string | undefined;

  constructor(
    readonly event: Payload,
    readonly ctx: HookContext,
    readonly config: Config,
    sessionLevel = false,
  ) {
    this.sessionKey = text(ctx.sessionKey) ?? text(event.sessionKey);
    this.sessionId = sessionIdOf(this.sessionKey, text(ctx.sessionId) ?? text(event.sessionId));
    if (sessionLevel) return; // no run: this.runId stays undefined
    this.runId = text(event.runId) ?? text(ctx.runId) ?? (this.sessionKey ? currentRuns.get(this.sessionKey) : undefined);
    if (this.runId && this.sessionKey) currentRuns.set(this.sessionKey, this.runId);
  }

  emit(type: string, payload: Payload, ids: EmitIds = {}): void {
    const sessionId = this.sessionId;
    if (!sessionId) return;
    if (type !== "session.start") this.ensureSession();
    const attributes = { sessionKey: this.sessionKey, agentId: text(this.ctx.agentId) };
    const correlation = { session_id: sessionId, run_id: ids.runId, span_id: ids.spanId, parent_span_id: ids.parentSpanId };
    this.events.push(envelope(type, correlation, payload, { config: this.config, attributes, id: ids.eventId, at: ids.at }));
  }

  /** The session's start, once: from session_start, else synthesised from the first hook. */
  startSession(payload: Payload): void {
    if (!this.sessionId || startedSessions.has(this.sessionId)) return;
    startedSessions.set(this.sessionId, true);
    this.emit("session.start", payload, { eventId: derivedId(FRAMEWORK, this.sessionId, "event", "session.start") });
  }

  ensureSession(): void {
    if (!this.sessionId || startedSessions.has(this.sessionId)) return;
    synthesisedSessions.set(this.sessionId, true);
    this.startSession({
      synthetic: true,
      agentId: text(this.ctx.agentId),
      sessionKey: this.sessionKey,
      model: text(this.event.model),
      provider: text(this.event.provider),
      parent_session_id: this.sessionKey ? childParents.get(this.sessionKey) : undefined,
    });
  }

  ensureRun(payload: Payload = { synthetic: true }): string | undefined {
    const runId = this.runId;
    if (!runId || !this.sessionId || startedRuns.has(runId)) return runId;
    startedRuns.set(runId, true);
    this.emit("run.start", payload, { runId });
    return runId;
  }

  spanId(key: string): string | undefined {
    return this.sessionId ? spanIdFor(this.sessionId, key) : undefined;
  }

  startSpan(key: string, payload: Payload): void {
    const spanId = this.spanId(key);
    if (!spanId) return;
    startedSpans.set(spanId, true);
    this.emit("span.start", payload, { runId: this.ensureRun(), spanId });
  }

  /** End a span; `runId` when it is not this hook's run (a sub-agent's span in its parent's). */
  endSpan(key: string, payload: Payload, failure?: string | SpanOutcome, runId = this.ensureRun(), at?: number): void {
    const spanId = this.spanId(key);
    if (!spanId) return;
    const outcome = typeof failure === "string" ? { status: "error", error: failure } : failure;
    const reconstructed = !startedSpans.has(spanId) && payload.duration_ms !== undefined;
    startedSpans.delete(spanId);
    const { status = "ok", error } = outcome ?? {};
    this.emit("span.end", { ...payload, status, error, reconstructed: reconstructed || undefined }, { runId, spanId, at });
    if (!error) return;
    const kind = status === "denied" ? "permission_denied" : String(payload.kind);
    this.emit("error", { message: error, kind }, { runId, spanId, eventId: this.eventId(spanId, "error"), at });
  }

  /** The id of an event that happens once (the same `agentmon import` derives). */
  eventId(...parts: string[]): string | undefined {
    return this.sessionId ? derivedId(FRAMEWORK, this.sessionId, "event", ...parts) : undefined;
  }

  /** One metric.snapshot per reply of this run in `messages` (agent_end's): its usage and
   * the cost OpenClaw reported; whether the replies carried usage (else llm_output's counts). */
  replyUsage(messages: unknown): boolean {
    const runId = this.runId;
    if (!runId || !Array.isArray(messages)) return false;
    const replies = repliesOf(messages, runId);
    for (const reply of replies) {
      const key = replyKey(reply);
      const counts = usageCounts((reply.usage ?? {}) as Payload);
      if (!key || !Object.values(counts).some((value) => value)) continue;
      const payload = { usage: counts, model: text(reply.model), provider: text(reply.provider), cost_usd: reportedCost(reply.usage) };
      this.emit("metric.snapshot", payload, { runId: this.ensureRun(), eventId: this.eventId("usage", key) });
    }
    return replies.some((reply) => typeof reply.usage === "object" && reply.usage !== null);
  }

  /** The unfinished business of this run's current attempt (see the header). */
  attempt(): PendingAttempt | undefined {
    if (!this.runId || !this.sessionId) return undefined;
    let pending = pendingAttempts.get(this.runId);
    if (!pending) {
      pending = { config: this.config, sessionId: this.sessionId, sessionKey: this.sessionKey, agentId: text(this.ctx.agentId) };
      pendingAttempts.set(this.runId, pending);
    }
    return pending;
  }

  /** End what the attempt left waiting: the failed call's span, then the run. */
  settle(errorText?: string, reply?: string): void {
    const runId = this.runId;
    const pending = runId ? pendingAttempts.get(runId) : undefined;
    if (!runId || !pending) return;
    clearTimeout(pending.timer);
    pendingAttempts.delete(runId);
    const failure = pending.failedCall ? (errorText ?? pending.failedCall.category) : undefined;
    if (pending.failedCall) this.endSpan(pending.failedCall.key, pending.failedCall.payload, failure);
    if (!pending.end) return;
    const error = text(pending.end.error) ?? failure;
    this.emit("run.end", { ...pending.end, status: error ? "error" : "ok", error, output: pending.end.output ?? clip(reply) }, { runId });
    if (oneShotLocal && synthesisedSessions.has(pending.sessionId)) this.emit("session.end", { reason: "local_turn_end", synthetic: true });
  }
}

/** After SETTLE_MS, end what no llm_output came to settle (sent from the timer). */
function settleLater(runId: string, pending: PendingAttempt): void {
  clearTimeout(pending.timer);
  pending.timer = setTimeout(() => {
    const ctx = { sessionId: pending.sessionId, sessionKey: pending.sessionKey, agentId: pending.agentId, runId };
    const mapper = new PluginMapper({ runId }, ctx, pending.config);
    mapper.settle();
    send(mapper.events, pending.config);
  }, SETTLE_MS);
}

/** End every attempt still waiting now (tests, shutdown); returns the envelopes. */
export function settleAllNow(): Envelope[] {
  const events: Envelope[] = [];
  for (const [runId, pending] of [...pendingAttempts]) {
    const ctx = { sessionId: pending.sessionId, sessionKey: pending.sessionKey, agentId: pending.agentId, runId };
    const mapper = new PluginMapper({ runId }, ctx, pending.config);
    mapper.settle();
    events.push(...mapper.events);
  }
  return events;
}

function ownerOf(message: Payload): string | undefined {
  return text((message.__openclaw as Payload | undefined)?.runId);
}

/** The replies of run `runId` in agent_end's messages: those stamped with it, and the
 * unstamped ones (this process's, not yet reloaded from the transcript) after the last
 * message of another run. */
function repliesOf(messages: unknown[], runId: string): Payload[] {
  const all = messages.filter((message): message is Payload => typeof message === "object" && message !== null);
  let first = 0;
  all.forEach((message, index) => {
    const owner = ownerOf(message);
    if (owner !== undefined && owner !== runId) first = index + 1;
  });
  return all.slice(first).filter((message) => message.role === "assistant" && (ownerOf(message) ?? runId) === runId);
}

/** What names a reply both here and in the transcript: its responseId, else its time stamp. */
function replyKey(reply: Payload): string | undefined {
  const response = text(reply.responseId);
  if (response && typeof reply.responseId === "string") return response;
  const at = num(reply.timestamp);
  return at === undefined ? undefined : `at:${at}`;
}

/** OpenClaw's usage (`input`, `output`, `cacheRead`, `cacheWrite`, `totalTokens`) in
 * agentmon's words; absent counts left out. */
function usageCounts(usage: Payload): Payload {
  const counts = {
    input_tokens: num(usage.input),
    output_tokens: num(usage.output),
    cache_read_tokens: num(usage.cacheRead),
    cache_write_tokens: num(usage.cacheWrite),
    total_tokens: num(usage.total) ?? num(usage.totalTokens),
  };
  return Object.fromEntries(Object.entries(counts).filter(([, value]) => value !== undefined));
}

/** `usage.cost.total` when OpenClaw priced the call (0: no price known, not free). */
function reportedCost(usage: unknown): number | undefined {
  const total = num(((usage as Payload | undefined)?.cost as Payload | undefined)?.total);
  return total !== undefined && total > 0 ? total : undefined;
}

function toolKey(event: Payload, ctx: HookContext): string {
  return `tool:${text(event.toolCallId) ?? text(ctx.toolCallId) ?? text(event.toolName) ?? "unknown"}`;
}

function errorText(value: unknown): string | undefined {
  if (!value) return undefined;
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  return text((value as Payload).message) ?? JSON.stringify(value);
}

/** How a tool call ended when it did not succeed: `denied` when OpenClaw refused to run it
 * (an exec policy's "exec denied: …", a human's or an expired approval's "Exec denied (…)",
 * or a plugin's before_tool_call block: details.status "blocked"), else `error` (its error, or exec's non-zero exit code with the output). */
export interface ToolOutcome {
  status: "error" | "denied";
  error: string;
}

/** A span's end other than ok: a tool's outcome, or a sub-agent's (`cancelled`: no error). */
interface SpanOutcome {
  status: string;
  error?: string;
}

const EXEC_DENIED = /^exec denied\b/i;

function toolDenial(details: Payload): string | undefined {
  if (details.status === "blocked") return text(details.reason) ?? text(details.deniedReason) ?? "tool call blocked";
  // a policy's refusal is the error; a human's (or an expired approval's) a failed result that
  // never ran: exitCode null, "Exec denied (gateway id=…, user-denied): <command>"
  const error = text(details.error) ?? (details.status === "failed" && details.exitCode === null ? text(details.aggregated) : undefined);
  return error && EXEC_DENIED.test(error) ? error : undefined;
}

/** A tool result's failure (after_tool_call's `result`, or the persisted message). */
export function toolOutcome(error: unknown, result: unknown): ToolOutcome | undefined {
  const details = ((result as Payload | undefined)?.details ?? {}) as Payload;
  const denial = toolDenial(details);
  if (denial) return { status: "denied", error: denial };
  const message = errorText(error);
  if (message) return { status: "error", error: message };
  const code = num(details.exitCode);
  if (code === undefined || code === 0) return undefined;
  const output = text(details.aggregated);
  return { status: "error", error: `exit code ${code}${output ? `: ${output.slice(0, 500)}` : ""}` };
}

/** The key of a model call's span: its callId, and the attempt when a retry reuses it. */
function callKey(callId: string | undefined, started: boolean): string {
  const id = callId ?? "unknown";
  const attempt = (callAttempts.get(id) ?? 0) + (started ? 1 : 0);
  if (started) callAttempts.set(id, attempt);
  return attempt <= 1 ? `llm:${id}` : `llm:${id}#${attempt}`;
}

const HANDLERS: Record<string, (m: PluginMapper) => void> = {
  session_start(m) {
    const parent = m.sessionKey ? childParents.get(m.sessionKey) : undefined;
    m.startSession({ resumedFrom: text(m.event.resumedFrom), agentId: text(m.ctx.agentId), sessionKey: m.sessionKey, parent_session_id: parent });
  },
  session_end(m) {
    if (m.sessionId) synthesisedSessions.delete(m.sessionId);
    m.emit("session.end", {
      reason: text(m.event.reason),
      messageCount: num(m.event.messageCount),
      duration_ms: num(m.event.durationMs),
      nextSessionId: text(m.event.nextSessionId),
    });
  },
  before_reset(m) {
    if (m.sessionId) synthesisedSessions.delete(m.sessionId);
    m.emit("session.end", { reason: text(m.event.reason) ?? "reset" });
  },
  llm_input(m) {
    const prompt = text(m.event.prompt);
    const input = prompt === undefined ? undefined : withoutStamp(prompt);
    m.ensureRun({
      input: clip(input),
      raw_input: prompt !== input ? clip(prompt) : undefined,
      model: text(m.event.model),
      provider: text(m.event.provider),
    });
  },
  agent_end(m) {
    const runId = m.ensureRun();
    const failed = m.event.success === false;
    const error = failed ? (errorText(m.event.error) ?? "agent run failed") : undefined;
    if (error) m.emit("error", { message: error, kind: "agent" }, { runId });
    if (runId && m.replyUsage(m.event.messages)) usagePerReply.set(runId, true);
    const pending = m.attempt();
    if (!pending || !runId) return;
    const output = clip(replyOf(m.event.messages));
    if (output !== undefined) runOutputs.set(runId, output);
    pending.end = { error, duration_ms: num(m.event.durationMs), output };
    settleLater(runId, pending);
  },
  before_tool_call(m) {
    m.startSpan(toolKey(m.event, m.ctx), {
      kind: "tool",
      name: text(m.event.toolName) ?? text(m.ctx.toolName),
      input: clip(m.event.params),
      toolCallId: text(m.event.toolCallId),
    });
    const callId = text(m.event.toolCallId) ?? text(m.ctx.toolCallId);
    const command = text(m.event.toolName) === "exec" ? text((m.event.params as Payload | undefined)?.command) : undefined;
    if (callId && command) execCommands.set(callId, command);
    const question = text(m.event.toolName) === "ask_user" ? questionsOf(m.event.params) : undefined;
    if (question) m.emit("metric.snapshot", { agent_state: "waiting_for_human", waiting_reason: "question", message: question }, { runId: m.runId });
  },
  after_tool_call(m) {
    const key = toolKey(m.event, m.ctx);
    const spanId = m.spanId(key);
    if (spanId) endedToolSpans.set(spanId, true);
    m.endSpan(
      key,
      {
        kind: "tool",
        name: text(m.event.toolName) ?? text(m.ctx.toolName),
        output: clip(m.event.result),
        duration_ms: num(m.event.durationMs),
        toolCallId: text(m.event.toolCallId),
      },
      toolOutcome(m.event.error, m.event.result),
    );
    if (text(m.event.toolName) === "sessions_spawn") startChildSpan(m, key);
  },
  subagent_spawned(m) {
    const childRunId = text(m.event.runId) ?? text(m.ctx.runId);
    if (!childRunId) return;
    const facts = { at: Date.now(), label: text(m.event.label), agentId: text(m.event.agentId), mode: text(m.event.mode), model: text(m.event.resolvedModel) };
    spawnFacts.set(childRunId, facts);
    const childKey = text(m.event.childSessionKey) ?? text(m.ctx.childSessionKey);
    if (childKey && m.sessionId) childParents.set(childKey, m.sessionId);
  },
  subagent_ended: endChild,
  tool_result_persist(m) {
    if (!text(m.event.toolCallId) && !text(m.ctx.toolCallId)) return;
    const key = toolKey(m.event, m.ctx);
    const spanId = m.spanId(key);
    if (!spanId || endedToolSpans.has(spanId)) return;
    endedToolSpans.set(spanId, true);
    const message = (m.event.message ?? {}) as Payload;
    m.endSpan(
      key,
      { kind: "tool", name: text(m.event.toolName) ?? text(m.ctx.toolName), output: clip(message.content) },
      toolOutcome(message.isError === true ? "tool reported an error" : undefined, message),
    );
  },
  model_call_started(m) {
    m.startSpan(callKey(text(m.event.callId), true), {
      kind: "llm",
      name: text(m.event.model),
      provider: text(m.event.provider),
      callId: text(m.event.callId),
    });
  },
  model_call_ended(m) {
    const key = callKey(text(m.event.callId), false);
    const payload = {
      kind: "llm",
      name: text(m.event.model),
      provider: text(m.event.provider),
      duration_ms: num(m.event.durationMs),
      timeToFirstByteMs: num(m.event.timeToFirstByteMs),
      callId: text(m.event.callId),
    };
    if (m.event.outcome !== "error") {
      m.endSpan(key, payload);
      return;
    }
    const category = [text(m.event.errorCategory), text(m.event.failureKind)].filter(Boolean).join(": ") || "model call failed";
    const pending = m.attempt();
    if (!pending || !m.runId) {
      m.endSpan(key, payload, category);
      return;
    }
    pending.failedCall = { key, payload, category };
    settleLater(m.runId, pending);
  },
  llm_output(m) {
    const last = (m.event.lastAssistant ?? {}) as Payload;
    const counts = usageCounts((m.event.usage ?? last.usage ?? {}) as Payload);
    const failed = last.stopReason === "error";
    const reported = Object.values(counts).some((value) => value !== 0);
    const counted = m.runId !== undefined && usagePerReply.has(m.runId);
    if (!counted && (reported || (!failed && Object.keys(counts).length > 0))) {
      m.emit("metric.snapshot", { usage: counts, model: text(m.event.model), provider: text(m.event.provider) }, { runId: m.ensureRun() });
    }
    const message = text(last.errorMessage);
    const code = text(last.errorCode);
    const error = failed ? [message ?? "model call failed", code ? `(${code})` : undefined].filter(Boolean).join(" ") : undefined;
    const texts = Array.isArray(m.event.assistantTexts) ? m.event.assistantTexts.filter((t) => typeof t === "string") : [];
    m.settle(error, texts.join("\n") || undefined);
  },
};

/** The lifecycle phases OpenClaw's exec tool emits as agent events around a human's approval
 * (gateway host; the data names the approvalId and the toolCallId, not the command). */
const APPROVAL_PHASES: Record<string, (m: PluginMapper, data: Payload) => void> = {
  "waiting-approval"(m, data) {
    const command = execCommands.get(text(data.toolCallId) ?? "");
    const message = command === undefined ? "Allow exec ?" : `Allow exec: ${command} ?`;
    const waiting = { agent_state: "waiting_for_human", waiting_reason: "permission_prompt", message };
    m.emit("metric.snapshot", { ...waiting, approvalId: text(data.approvalId), toolCallId: text(data.toolCallId) }, { runId: m.runId });
  },
  "approval-resolved"(m, data) {
    m.emit("metric.snapshot", { agent_state: "working", approvalId: text(data.approvalId), toolCallId: text(data.toolCallId) }, { runId: m.runId });
  },
};

/** The approval phase an OpenClaw agent event reports, if any (cheap: the plugin sees every
 * agent event of every run, streamed text included). */
export function approvalPhaseOf(event: Payload): string | undefined {
  if (event?.stream !== "lifecycle") return undefined;
  const name = text((event.data as Payload | undefined)?.phase);
  return name && Object.hasOwn(APPROVAL_PHASES, name) ? name : undefined;
}

/** An OpenClaw agent event (api.runtime.events.onAgentEvent) → envelopes: only the exec
 * approval's wait, which no plugin hook reports. */
export function mapAgentEvent(event: Payload, config?: Config): Envelope[] {
  const name = approvalPhaseOf(event);
  if (!name) return [];
  const ctx = { sessionKey: text(event.sessionKey), sessionId: text(event.sessionId), runId: text(event.runId), agentId: text(event.agentId) };
  const mapper = new PluginMapper(event, ctx, config ?? readConfig());
  APPROVAL_PHASES[name](mapper, event.data as Payload);
  return mapper.events;
}

/** The question(s) an ask_user call puts to the human (`questions[].question`), one a line. */
function questionsOf(params: unknown): string | undefined {
  const questions = (params as Payload | undefined)?.questions;
  if (!Array.isArray(questions)) return undefined;
  return questions.map((entry) => text((entry as Payload | undefined)?.question)).filter(Boolean).join("\n") || undefined;
}

/** What a sessions_spawn call's result says it started (its `details`: status "accepted",
 * the child's session key and runId). */
function acceptedSpawn(result: unknown): { childSessionKey: string; runId: string } | undefined {
  const details = ((result as Payload | undefined)?.details ?? {}) as Payload;
  const childSessionKey = text(details.childSessionKey);
  const runId = text(details.runId);
  return details.status === "accepted" && childSessionKey && runId ? { childSessionKey, runId } : undefined;
}

/** The agent span of the child a sessions_spawn call (its tool span `toolKey`) started. */
function startChildSpan(m: PluginMapper, toolKey: string): void {
  const child = acceptedSpawn(m.event.result);
  const parentSpanId = m.spanId(toolKey);
  if (!child || !parentSpanId || !m.sessionId) return;
  const facts = spawnFacts.get(child.runId) ?? {};
  spawnFacts.delete(child.runId);
  childParents.set(child.childSessionKey, m.sessionId);
  const spanKey = `agent:${child.runId}`;
  spawnedChildren.set(child.runId, { parentSessionKey: m.sessionKey, parentRunId: m.runId, spanKey });
  const params = (m.event.params ?? {}) as Payload;
  const payload = {
    kind: "agent",
    name: text(facts.label) ?? text(params.label) ?? text(facts.agentId) ?? "subagent",
    input: clip(params.task),
    model: text(facts.model),
    mode: text(facts.mode),
    child_session_key: child.childSessionKey,
    child_run_id: child.runId,
  };
  const spanId = m.spanId(spanKey);
  if (spanId) startedSpans.set(spanId, true);
  m.emit("span.start", payload, { runId: m.runId, spanId, parentSpanId, at: num(facts.at) });
}

/** How a sub-agent's end reads in agentmon: its outcome as a span status. */
function childStatus(outcome: string | undefined): string {
  if (outcome === undefined || outcome === "ok") return "ok";
  return outcome === "error" || outcome === "timeout" ? "error" : "cancelled";
}

/** subagent_ended: the agent span in the parent's run ends, and the child's session. */
function endChild(m: PluginMapper): void {
  const childRunId = text(m.event.runId) ?? text(m.ctx.runId);
  const childKey = text(m.event.targetSessionKey) ?? text(m.ctx.childSessionKey);
  const outcome = text(m.event.outcome);
  const status = childStatus(outcome);
  const child = childRunId ? spawnedChildren.get(childRunId) : undefined;
  const childSessionId = childKey ? sessionIdOf(childKey) : undefined;
  if (child && childRunId) {
    spawnedChildren.delete(childRunId);
    const parent = new PluginMapper({}, { sessionKey: child.parentSessionKey }, m.config, true);
    const error = status === "error" ? (text(m.event.error) ?? `sub-agent ${outcome}`) : undefined;
    const payload = { kind: "agent", output: runOutputs.get(childRunId), reason: text(m.event.reason), outcome, child_session_id: childSessionId };
    parent.endSpan(child.spanKey, payload, { status, error }, child.parentRunId, num(m.event.endedAt));
    m.events.push(...parent.events);
  }
  // OpenClaw fires subagent_ended for every session a reset or delete unbinds, too (targetKind
  // "acp": those have their own session_end); only a sub-agent's session ends here
  if (m.event.targetKind !== "subagent" || !childKey || !childSessionId || childSessionId === childKey) return;
  const session = new PluginMapper({}, { sessionKey: childKey, sessionId: childSessionId }, m.config, true);
  synthesisedSessions.delete(childSessionId);
  session.emit("session.end", { reason: text(m.event.reason) ?? "subagent_ended", outcome, synthetic: true }, { at: num(m.event.endedAt) });
  m.events.push(...session.events);
}

export const PLUGIN_HOOKS = Object.keys(HANDLERS);

/** The envelopes one typed plugin hook call implies (updates the in-memory state). */
/** A compaction's summary call (callId `<runId>:compaction:<id>:model:<n>`): its runId is
 * the compaction's own, which no agent_end ever ends, so its span is the session's (beside
 * the internal hook's compaction span), not a run's. */
function isCompactionCall(name: string, event: Payload | undefined): boolean {
  return name.startsWith("model_call_") && /:compaction:/.test(text(event?.callId) ?? "");
}

/** The subagent hooks' ctx names the requester (the parent) and the child, not "the" session:
 * they map in the requester's session; their runId is the child's. */
function hookContext(name: string, ctx: HookContext): HookContext {
  if (!name.startsWith("subagent_")) return ctx;
  return { ...ctx, sessionKey: text(ctx.requesterSessionKey), sessionId: undefined, runId: undefined };
}

export function mapPluginHook(name: string, event: Payload, ctx: HookContext = {}, config: Config = readConfig()): Envelope[] {
  const handler = HANDLERS[name];
  if (!handler) return [];
  const sessionLevel = isCompactionCall(name, event) || name.startsWith("subagent_");
  const mapper = new PluginMapper(event ?? {}, hookContext(name, ctx ?? {}), config, sessionLevel);
  handler(mapper);
  return mapper.events;
}
