// One EventSource per page on /api/live. The browser reconnects by itself and sends
// Last-Event-ID, so after a sleep or a dropped connection the stream resumes exactly
// where it stopped. Views subscribe; nothing polls.

const LOG_EVENTS = [
  "UploadReceived", "ProcessingStarted", "VariationRendered", "CancellationRequested",
  "ProcessingFinished", "UploadsPurged", "Expired", "OutputsDeleted",
];

let source = null;
const listeners = new Set();

export function start() {
  if (source) return;
  source = new EventSource("/api/live");
  for (const type of [...LOG_EVENTS, "snapshot", "progress"]) {
    source.addEventListener(type, (message) => dispatch(type, message));
  }
  // After a reconnect (the browser sends Last-Event-ID) or when the network comes back,
  // views re-read what they show once: a re-read that failed while offline is not lost.
  let opened = 0;
  source.addEventListener("open", () => {
    opened += 1;
    if (opened > 1) resync();
  });
}

function resync() {
  for (const listener of listeners) listener({ type: "resync", jobId: null, data: null });
}

window.addEventListener("online", () => {
  if (source) resync();
});

export function stop() {
  source?.close();
  source = null;
}

function dispatch(type, message) {
  let data;
  try {
    data = JSON.parse(message.data);
  } catch {
    return;
  }
  const jobId = data?.job_id ?? data?.data?.job_id ?? null;
  for (const listener of listeners) listener({ type, jobId, data, position: message.lastEventId });
}

/** Call `listener({type, jobId, data})` for every live message until the returned function runs. */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export const FINISHING = new Set(["ProcessingFinished", "Expired"]);
