// A human's approvals surface for tests, as the Control UI connects: OpenClaw's own gateway
// client (plugin-sdk/gateway-runtime `GatewayClient`) with the gateway's token from the given
// openclaw.json, scopes operator.admin + operator.approvals and the `approvals` capability.
// (operator.approvals alone is not enough: a request is delivered only to clients that may see
// its session, and a token operator without admin sees none.) While it is connected OpenClaw
// has an approval route, so an exec that needs approval waits for a decision instead of being
// refused at once. It prints one JSON line when connected
// ({"ready": true}) and one per exec.approval.* event ({"event", "payload"}); it exits when
// its stdin closes. The decision itself is given by `openclaw approvals resolve`.
//
//   node approver.mjs <openclaw package dir> <openclaw.json>

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [packageDir, configPath] = process.argv.slice(2);
const runtime = pathToFileURL(join(packageDir, "dist", "plugin-sdk", "gateway-runtime.js")).href;
const { GatewayClient } = await import(runtime);
const { gateway } = JSON.parse(readFileSync(configPath, "utf8"));
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const client = new GatewayClient({
  url: `ws://127.0.0.1:${gateway.port}`,
  token: gateway.auth.token,
  clientName: "gateway-client",
  clientDisplayName: "agentmon test approver",
  mode: "backend",
  caps: ["approvals"],
  scopes: ["operator.admin", "operator.approvals"],
  onHelloOk: () => print({ ready: true }),
  onEvent: (frame) => {
    if (frame.event?.startsWith("exec.approval.")) print({ event: frame.event, payload: frame.payload });
  },
  onConnectError: (error) => print({ error: String(error) }),
});
client.start();
process.stdin.resume();
process.stdin.on("end", () => {
  client.stop();
  process.exit(0);
});
