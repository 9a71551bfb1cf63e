// Browser notifications when a job finishes: permission is asked only after a click.

const KEY = "vr-notify";

export function supported() {
  return "Notification" in window;
}

export function enabled() {
  return supported() && Notification.permission === "granted" && localStorage.getItem(KEY) === "on";
}

/** Ask once (from a click handler); remember the choice. Resolves to whether it is on. */
export async function enable() {
  if (!supported()) return false;
  const permission = await Notification.requestPermission();
  localStorage.setItem(KEY, permission === "granted" ? "on" : "off");
  return permission === "granted";
}

export function disable() {
  localStorage.setItem(KEY, "off");
}

export function finished(job) {
  if (!enabled()) return;
  const names = (job.sources ?? []).map((s) => s.name).join(", ");
  new Notification(`Job ${statusWord(job.status)}`, { body: names, tag: job.job_id });
}

function statusWord(status) {
  return { completed: "done", partial: "partly done", failed: "failed", cancelled: "cancelled" }[status] ?? status;
}
