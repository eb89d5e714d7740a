// Entry point: start the live stream and render the app.
import { html, render } from "./lib.js";
import { App } from "./app.js";
import { startLive } from "./live.js";

startLive();
render(html`<${App} />`, document.getElementById("app"));
