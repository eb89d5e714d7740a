// Entry point: start the live stream and render the app.
import { html, render } from "./lib.js";
import { App } from "./app.js";
import { startLive } from "./live.js";

const root = document.getElementById("app");
root.replaceChildren(); // drop the "Loading agentmon…" placeholder
startLive();
render(html`<${App} />`, root);
