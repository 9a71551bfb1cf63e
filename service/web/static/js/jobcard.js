// One job as a card: thumbnails and names of its sources, status, progress, errors,
// expiry, and what can be done with it. Shared by the jobs list and the admin view.

import { api, errorText } from "./api.js";
import { h, fill } from "./dom.js";
import { expiry, status } from "./format.js";

export const ACTIVE = new Set(["received", "processing", "cancelling"]);

export function progressOf(job, live) {
  const { rendered, requested } = job.progress;
  if (live !== undefined && ACTIVE.has(job.status)) return Math.max(live, rendered / requested);
  return requested ? rendered / requested : 0;
}

/** A card for `job`; `options.owner` shows the owner, `options.expire` offers expiry,
 * `options.heading: false` leaves out the linked title (the job's own page has it). */
export function jobCard(job, options = {}) {
  const card = h("li", { class: "job card", "data-job": job.job_id, "data-status": job.status });
  updateCard(card, job, options);
  return card;
}

export function updateCard(card, job, options = {}, live) {
  card.dataset.status = job.status;
  const names = job.sources.map((s) => s.name);
  const title = names.join(", ");
  const fraction = progressOf(job, live);
  const { rendered, requested } = job.progress;
  const message = h("p", { class: "error", role: "alert" });
  // A redraw keeps the thumbnails already shown, so they do not flash while reloading;
  // one that failed to load is made anew, so the browser asks for it again.
  const shown = new Map(
    [...card.querySelectorAll(".thumbs img")]
      .filter((img) => !img.complete || img.naturalWidth > 0)
      .map((img) => [img.getAttribute("src"), img]),
  );
  const thumbs = h(
    "div",
    { class: "thumbs" },
    job.sources.map((s) =>
      s.thumbnail
        ? shown.get(s.thumbnail) ??
          h("img", { src: s.thumbnail, alt: `First frame of ${s.name}`, width: 96, height: 54, loading: "lazy" })
        : h("div", { class: "thumb-empty", "aria-hidden": "true" }, "▶"),
    ),
  );
  const failures = job.sources.filter((s) => s.error);
  fill(
    card,
    thumbs,
    h(
      "div",
      { class: "job-body" },
      options.heading === false ? null : h("h3", {}, h("a", { href: `#/jobs/${job.job_id}` }, title)),
      options.owner ? h("p", { class: "muted" }, `Owner: ${job.owner ?? "unknown"}`) : null,
      h(
        "p",
        { class: "meta" },
        h("span", { class: `badge ${job.status}` }, status(job.status)),
        h("span", { class: "count" }, `${rendered} of ${requested} rendered`),
        h("span", { class: "expiry" }, expiry(job)),
      ),
      h("progress", {
        max: 100, value: Math.round(fraction * 100), "aria-label": `Progress of ${title}`,
      }),
      failures.length
        ? h("ul", { class: "failures" }, failures.map((s) => h("li", {}, `${s.name}: ${plainError(s.error)}`)))
        : null,
      job.finish_reason && job.status !== "completed" ? h("p", { class: "muted" }, job.finish_reason) : null,
      h("div", { class: "actions" }, actions(job, options, message)),
      message,
    ),
  );
}

/** The first line of ffmpeg's reason, which says what was wrong in words. */
export function plainError(error) {
  return String(error).split("\n")[0].replace(/^[0-9a-f-]{36}\.\w+: /, "");
}

function actions(job, options, message) {
  const buttons = [];
  if (job.status === "received" || job.status === "processing") {
    buttons.push(button("Cancel", `Cancel job ${job.sources.map((s) => s.name).join(", ")}`, message, () =>
      api(`/api/jobs/${job.job_id}/cancel`, { method: "POST" })));
  }
  if (job.progress.rendered > 0 && job.status !== "expired") {
    buttons.push(button("Download ZIP", "Download all variations as one ZIP", message, () => downloadZip(job.job_id)));
  }
  if (options.expire && job.status !== "expired" && job.status !== "processing") {
    buttons.push(button("Expire now", "Expire this job now", message, () =>
      api(`/api/jobs/${job.job_id}/expire`, { method: "POST" })));
  }
  return buttons;
}

function button(text, label, message, action) {
  return h("button", {
    type: "button",
    "aria-label": label === text ? null : label,
    onclick: async (event) => {
      const target = event.currentTarget;
      target.disabled = true;
      message.textContent = "";
      try {
        await action();
      } catch (error) {
        message.textContent = errorText(error);
      } finally {
        target.disabled = false;
      }
    },
  }, text);
}

/** The browser's own download of a signed link: no header needed, resumable. */
export async function downloadZip(jobId) {
  const { url } = await api(`/api/jobs/${jobId}/download-link`, { method: "POST" });
  const link = h("a", { href: url, download: "", hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}
