// Follows one generation session over its websocket.
//
// Each connection starts with the server's state snapshot ({type: "state", status, step,
// total_steps, images, error}), then `done`/`failed` if the run is already over, then live
// `progress`, `image`, `done` and `failed` events. A dropped connection reconnects after
// 0.5 s, 1 s, 2 s … (at most 8 s) and resumes from the new snapshot, so nothing is lost.
// An event can also be lost in transit (the channel layer drops one when a server process
// cancels a receive), so a socket silent for QUIET_MS is replaced by a fresh one, whose
// snapshot says where the run stands.
import { routes } from "./routes.js";

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 8000;
const MAX_SILENT_CONNECTIONS = 8; // refused or closed before any message: the session is gone
const QUIET_MS = 10000;

// handlers: {state, progress, image, done, failed, lost(delayMs), reconnected(count), gone}.
export function watchSession(sessionId, handlers) {
  let socket = null;
  let delay = FIRST_DELAY_MS;
  let silent = 0;
  let over = false;
  let timer = null;
  let quiet = null;
  const watcher = { sessionId, reconnects: 0, refreshes: 0, stop };

  function expectNews() {
    clearTimeout(quiet);
    quiet = setTimeout(refresh, QUIET_MS);
  }

  function refresh() {
    if (over || !socket) return;
    const stale = socket;
    watcher.refreshes += 1;
    connect(); // the new socket is `socket` now: the stale one's close is ignored
    stale.close();
  }

  function connect() {
    const current = new WebSocket(routes.socket(sessionId));
    socket = current;
    let heard = false;
    expectNews();
    current.onmessage = (message) => {
      if (socket !== current) return;
      expectNews();
      const event = JSON.parse(message.data);
      if (!heard && watcher.reconnects) handlers.reconnected?.(watcher.reconnects);
      heard = true;
      silent = 0;
      delay = FIRST_DELAY_MS;
      if (event.type === "done" || event.type === "failed") over = true;
      handlers[event.type]?.(event);
      if (over) { clearTimeout(quiet); current.close(); }
    };
    current.onclose = () => {
      if (over || socket !== current) return;
      clearTimeout(quiet); // the reconnect below brings a fresh snapshot anyway
      silent = heard ? 0 : silent + 1;
      if (silent >= MAX_SILENT_CONNECTIONS) { over = true; handlers.gone?.(); return; }
      handlers.lost?.(delay);
      timer = setTimeout(() => { watcher.reconnects += 1; connect(); }, delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    };
  }

  function stop() {
    over = true;
    clearTimeout(timer);
    clearTimeout(quiet);
    if (socket) socket.close();
  }

  connect();
  return watcher;
}
