// Shared by the internal hook and the typed plugin: configuration, envelopes, ids, and a
// sender that never throws, never blocks the gateway and spools what it cannot deliver.

import { createHash, randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { homedir, hostname } from "node:os";
import { join } from "node:path";

export const FRAMEWORK = "openclaw";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Payload = Record<string, unknown>;

export interface Correlation {
  session_id?: string;
  run_id?: string;
  span_id?: string;
  parent_span_id?: string;
  trace_id?: string;
}

export interface Envelope {
  schema: { name: "agentmon.event"; version: 1 };
  event: {
    id: string;
    type: string;
    ts: string;
    source: { framework: string; client_id: string; host: string };
  };
  correlation: Correlation;
  attributes: Payload;
  payload: Payload;
}

export interface Config {
  ingestUrl: string;
  vmName: string;
  apiKey?: string;
  timeoutMs: number;
  retries: number;
  spoolDir: string;
}

/** Read on every call: the gateway may load ~/.openclaw/.env after the module. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const name = env.AGENTMON_VM_NAME || hostname();
  return {
    ingestUrl: (env.AGENTMON_INGEST_URL || "http://127.0.0.1:8080").replace(/\/+$/, ""),
    vmName: name,
    apiKey: env.AGENTMON_API_KEY || undefined,
    timeoutMs: Number(env.AGENTMON_HOOK_TIMEOUT_MS) || 1500,
    retries: 2,
    spoolDir: join(
      env.AGENTMON_SPOOL_DIR || join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "agentmon", "spool"),
      "openclaw",
    ),
  };
}

const NAMESPACE = Buffer.from("6d2f0a57c1b04c8e9c1f3d2b7a4e5f60", "hex");

/** A name-based (v5) UUID: the same parts always give the same id. */
export function derivedId(...parts: string[]): string {
  const digest = createHash("sha1")
    .update(Buffer.concat([NAMESPACE, Buffer.from(parts.join("\u001f"))]))
    .digest()
    .subarray(0, 16);
  digest[6] = (digest[6] & 0x0f) | 0x50;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  const hex = digest.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function spanIdFor(sessionId: string, key: string): string {
  return derivedId(FRAMEWORK, sessionId, "span", key);
}

function toIso(at: Date | string | number | undefined): string {
  const date = at instanceof Date ? at : at === undefined ? new Date() : new Date(at);
  return Number.isNaN(date.getTime()) ? new Date().toISOString() : date.toISOString();
}

function compact(record: Payload): Payload {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined && value !== null));
}

/** One `agentmon.event` v1 envelope with a fresh id (or `options.id`, for an event several
 * processes may send: the store keeps one). */
export function envelope(
  type: string,
  correlation: Correlation,
  payload: Payload,
  options: { at?: Date | string | number; attributes?: Payload; config?: Config; id?: string } = {},
): Envelope {
  const config = options.config ?? readConfig();
  return {
    schema: { name: "agentmon.event", version: 1 },
    event: {
      id: options.id ?? randomUUID(),
      type,
      ts: toIso(options.at),
      source: { framework: FRAMEWORK, client_id: config.vmName, host: config.vmName },
    },
    correlation: compact(correlation as Payload) as Correlation,
    attributes: compact(options.attributes ?? {}),
    payload: compact(payload),
  };
}

const MAX_TEXT = 16384;

/** Keep prompts, tool inputs and outputs small enough for one event. */
export function clip(value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value.length <= MAX_TEXT ? value : `${value.slice(0, MAX_TEXT)}…[truncated]`;
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    return String(value);
  }
  return text.length <= MAX_TEXT ? value : `${text.slice(0, MAX_TEXT)}…[truncated]`;
}

const pending = new Set<Promise<void>>();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

// Retries back off as agentmon.client.backoff does for the Python producers: attempt n waits
// a uniformly random time in [0, min(cap, base * 2^n)) ("full jitter", so gateways' worth of
// hooks that saw the same 503 do not come back in step), added to the gateway's Retry-After.
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5000;
/** The longest Retry-After waited for in memory: a longer one spools the events at once
 * (replayed with a later delivery) rather than holding them in the gateway's process. */
export const MAX_RETRY_AFTER_MS = 10_000;

/** A Retry-After header (delta seconds or an HTTP date) in milliseconds; undefined if absent
 * or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** How long to wait before retry number `attempt` (0 for the first retry). */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return (retryAfterMs ?? 0) + random() * ceiling;
}

type Outcome = { done: true } | { done: false; retryAfterMs?: number; keepNow?: boolean };

// As agentmon.client.delivery for the Python producers: a misconfigured producer (key, URL,
// proxy) is fixed for every event alike, so its events are kept (spooled) without retrying
// now; a busy or timed-out gateway is retried, then kept. Any other 4xx refuses the batch.
const KEEP_FOR_LATER = new Set([401, 403, 404, 407]);
const RETRY_SOON = new Set([408, 425, 429]);

async function postOnce(config: Config, body: string): Promise<Outcome> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`;
  try {
    const answer = await fetch(`${config.ingestUrl}/v1/events`, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(config.timeoutMs),
    });
    await answer.arrayBuffer().catch(() => undefined);
    if (KEEP_FOR_LATER.has(answer.status)) return { done: false, keepNow: true };
    if (RETRY_SOON.has(answer.status) || answer.status >= 500) {
      return { done: false, retryAfterMs: parseRetryAfter(answer.headers.get("retry-after")) };
    }
    return { done: true };
  } catch {
    return { done: false };
  }
}

async function post(config: Config, events: Envelope[]): Promise<boolean> {
  const body = JSON.stringify(events);
  for (let attempt = 0; attempt <= config.retries; attempt += 1) {
    const outcome = await postOnce(config, body);
    if (outcome.done) return true;
    if (outcome.keepNow || attempt === config.retries || (outcome.retryAfterMs ?? 0) > MAX_RETRY_AFTER_MS) break;
    await sleep(retryDelayMs(attempt, outcome.retryAfterMs));
  }
  return false;
}

// The spool: one JSON array of envelopes per file, named by time so files replay in order
// (the same layout as the Python handlers' spool). A file is claimed by renaming it.

const MAX_REPLAY_FILES = 50;
let replaying = false;

async function spoolWrite(config: Config, events: Envelope[]): Promise<void> {
  await mkdir(config.spoolDir, { recursive: true, mode: 0o700 });
  const name = `${String(Date.now() * 1000).padStart(20, "0")}-${process.pid}-${randomUUID().slice(0, 8)}.json`;
  const temporary = join(config.spoolDir, `.${name}.tmp`);
  await writeFile(temporary, JSON.stringify(events));
  await rename(temporary, join(config.spoolDir, name));
}

/** Spooled files, oldest first, with claims left by an earlier (crashed) gateway process. */
async function spooledFiles(config: Config): Promise<string[]> {
  const own = `.${process.pid}.claimed`;
  const names = await readdir(config.spoolDir).catch(() => [] as string[]);
  return names
    .filter((name) => !name.startsWith(".") && (name.endsWith(".json") || (name.endsWith(".claimed") && !name.endsWith(own))))
    .sort()
    .slice(0, MAX_REPLAY_FILES);
}

async function replaySpool(config: Config): Promise<void> {
  if (replaying) return;
  replaying = true;
  try {
    for (const name of await spooledFiles(config)) {
      const path = join(config.spoolDir, name);
      const original = join(config.spoolDir, `${name.split(".json")[0]}.json`);
      const claimed = `${original}.${process.pid}.claimed`;
      if (!(await rename(path, claimed).then(() => true, () => false))) continue;
      let events: Envelope[];
      try {
        events = JSON.parse(await readFile(claimed, "utf8")) as Envelope[];
      } catch {
        await unlink(claimed); // unreadable: nothing to replay
        continue;
      }
      if (!(await post(config, events))) {
        await rename(claimed, original);
        return;
      }
      await unlink(claimed);
    }
  } finally {
    replaying = false;
  }
}

/** Post, then replay the spool; what cannot be posted is spooled for a later call. */
async function deliver(config: Config, events: Envelope[]): Promise<void> {
  if (await post(config, events)) {
    await replaySpool(config);
    return;
  }
  await spoolWrite(config, events);
}

/** Fire and forget: returns at once, never throws, retries briefly, spools what still fails. */
export function send(events: Envelope[], config: Config = readConfig()): void {
  if (events.length === 0) return;
  const delivery = deliver(config, events).catch(() => undefined);
  pending.add(delivery);
  void delivery.finally(() => pending.delete(delivery));
}

/** Wait for deliveries in flight (tests and shutdown). */
export async function settle(): Promise<void> {
  while (pending.size > 0) await Promise.all([...pending]);
}

/** A map that forgets its oldest entries, so gateway memory stays bounded. */
export class BoundedMap<V> extends Map<string, V> {
  constructor(private readonly limit = 2000) {
    super();
  }

  override set(key: string, value: V): this {
    if (this.has(key)) this.delete(key);
    super.set(key, value);
    while (this.size > this.limit) this.delete(this.keys().next().value as string);
    return this;
  }
}

interface SharedState {
  sessionIds: BoundedMap<string>;
}

/** State shared by the hook and the plugin when the gateway loads both. */
export function shared(): SharedState {
  const root = globalThis as { __agentmonOpenclaw?: SharedState };
  root.__agentmonOpenclaw ??= { sessionIds: new BoundedMap<string>() };
  return root.__agentmonOpenclaw;
}

/** The agentmon session id of an OpenClaw session key: its sessionId when known. */
export function sessionIdOf(sessionKey: string | undefined, sessionId?: string): string | undefined {
  const ids = shared().sessionIds;
  if (sessionKey && sessionId) ids.set(sessionKey, sessionId);
  return sessionId ?? (sessionKey ? (ids.get(sessionKey) ?? sessionKey) : undefined);
}
