// A real HTTP server standing in for the agentmon gateway's /v1/events in the hook tests.

import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { Envelope } from "../lib/core.js";

export interface Receiver {
  url: string;
  batches: Envelope[][];
  requests: { path: string; authorization?: string }[];
  /** When each request arrived (performance.now(), ms), in the order of `requests`. */
  arrivals: number[];
  failNext: number;
  /** The Retry-After header of the 503s `failNext` asks for. */
  retryAfter: string;
  /** The status `failNext` answers with (503 unless set). */
  failStatus: number;
  close(): Promise<void>;
  events(): Envelope[];
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    url: "",
    batches: [],
    requests: [],
    arrivals: [],
    failNext: 0,
    retryAfter: "0",
    failStatus: 503,
    close: () => new Promise((resolve) => server.close(() => resolve())),
    events: () => receiver.batches.flat(),
  };
  const server: Server = createServer(async (request, response) => {
    const body = await readBody(request);
    receiver.arrivals.push(performance.now());
    receiver.requests.push({ path: request.url ?? "", authorization: request.headers.authorization });
    if (receiver.failNext > 0) {
      receiver.failNext -= 1;
      response.writeHead(receiver.failStatus, { "retry-after": receiver.retryAfter }).end('{"error": "busy"}');
      return;
    }
    const batch = JSON.parse(body) as Envelope[];
    receiver.batches.push(batch);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ accepted: batch.length, rejected: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

export function types(events: Envelope[]): string[] {
  return events.map((event) => event.event.type);
}

/** Point the spool at a fresh temporary directory (never the real one); returns it. */
export function isolateSpool(): string {
  const root = mkdtempSync(join(tmpdir(), "agentmon-spool-"));
  process.env.AGENTMON_SPOOL_DIR = root;
  process.once("exit", () => rmSync(root, { recursive: true, force: true }));
  return root;
}
