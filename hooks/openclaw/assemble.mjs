// Lay out the compiled hook and plugin as OpenClaw installs them:
//   dist/install/hook/agentmon/    → ~/.openclaw/hooks/agentmon/
//   dist/install/plugin/agentmon/  → ~/.openclaw/extensions/agentmon/
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";

const here = (path) => new URL(path, import.meta.url);
const hook = here("dist/install/hook/agentmon/");
const plugin = here("dist/install/plugin/agentmon/");

rmSync(here("dist/install/"), { recursive: true, force: true });
for (const target of [hook, plugin]) {
  mkdirSync(target, { recursive: true });
  cpSync(here("dist/lib/"), new URL("lib/", target), { recursive: true });
}
cpSync(here("HOOK.md"), new URL("HOOK.md", hook));
cpSync(here("dist/handler.js"), new URL("handler.js", hook));
writeFileSync(new URL("package.json", hook), `${JSON.stringify({ type: "module", private: true }, null, 2)}\n`);
cpSync(here("dist/plugin.js"), new URL("plugin.js", plugin));
cpSync(here("plugin/openclaw.plugin.json"), new URL("openclaw.plugin.json", plugin));
cpSync(here("plugin/package.json"), new URL("package.json", plugin));
